// Local state in Go: a RedEX log with a live tail, then NetDB tasks with
// read-your-writes, a query and a snapshot restored into a second database.
// Run: cd examples/go && go run ./state
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	net "github.com/netmesh-dev/net/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A raw log: append, read back, tail from a sequence.
	rx, err := net.OpenRedex("") // "" keeps logs in memory; pass a directory to persist
	if err != nil {
		log.Fatal(err)
	}
	defer rx.Close()
	orders, err := rx.OpenLog("orders", net.LogConfig{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := orders.Append([]byte("order 1")); err != nil {
		log.Fatal(err)
	}
	if _, _, err := orders.AppendBatch([][]byte{[]byte("order 2"), []byte("order 3")}); err != nil {
		log.Fatal(err)
	}
	entries, err := orders.ReadRange(0, ^uint64(0))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Printf("log #%d: %s\n", e.Seq, e.Payload)
	}
	tail, err := orders.Tail(2)
	if err != nil {
		log.Fatal(err)
	}
	defer tail.Close()
	live, err := tail.Next(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("tail from #2 sees %d entry\n", len(live))

	// NetDB: writes return tokens; waiting on one gives read-your-writes.
	db, err := net.OpenNetDB(net.NetDBOptions{NoMemories: true})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	tasks := db.Tasks()
	if _, err := tasks.Create(1, "write plan"); err != nil {
		log.Fatal(err)
	}
	if _, err := tasks.Create(2, "ship it"); err != nil {
		log.Fatal(err)
	}
	done, err := tasks.Complete(1)
	if err != nil {
		log.Fatal(err)
	}
	if err := db.WaitForToken(ctx, done); err != nil {
		log.Fatal(err)
	}
	pending, err := tasks.FindMany(net.TasksFilter{Status: "pending"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pending: %d (%s)\n", len(pending), pending[0].Title)

	// A snapshot is bytes; any language restores it.
	snap, err := db.Snapshot()
	if err != nil {
		log.Fatal(err)
	}
	copyDB, err := net.RestoreNetDB(snap, net.NetDBOptions{NoMemories: true})
	if err != nil {
		log.Fatal(err)
	}
	defer copyDB.Close()
	n, err := copyDB.Tasks().CountWhere(net.TasksFilter{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("restored %d tasks from %d bytes\n", n, len(snap))
}
