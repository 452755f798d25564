// Typed channels in Go: values of one struct type on a channel, on a node's
// local channels (every subscriber gets every value) and over the mesh.
// Run: cd examples/go && go run ./typed_channels
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	net "github.com/netmesh-dev/net/go"
)

// Reading is the channel's type. Validate is optional: a typed channel calls
// it on every value it publishes and every message it decodes.
type Reading struct {
	SensorID string  `json:"sensor_id"`
	Celsius  float64 `json:"celsius"`
}

func (r Reading) Validate() error {
	if r.SensorID == "" {
		return errors.New("sensor_id is required")
	}
	return nil
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// On one node: publish and subscribe, no registration.
	node, err := net.New(&net.Config{NumShards: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Shutdown()
	temps, err := net.NewChannel[Reading](node, "sensors/temperature")
	if err != nil {
		log.Fatal(err)
	}
	sub, err := temps.Subscribe()
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	n, err := temps.Publish(Reading{SensorID: "A1", Celsius: 22.5})
	if err != nil {
		log.Fatal(err)
	}
	got, err := sub.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("local: %d subscriber got %+v\n", n, got)

	// A message that is not a Reading is an error; the subscription goes on.
	_, _ = node.Publish("sensors/temperature", []byte(`{"celsius": "hot"}`))
	_, err = sub.Next(ctx)
	fmt.Println("a bad message:", errors.Is(err, net.ErrInvalidChannelMessage))

	// Or pushed: the engine calls a function for each value.
	pushed, err := temps.Subscribe()
	if err != nil {
		log.Fatal(err)
	}
	defer pushed.Close()
	values := make(chan Reading, 1)
	handler, err := pushed.OnMessage(ctx, func(r Reading) { values <- r }, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer handler.Close()
	if _, err := temps.Publish(Reading{SensorID: "A2", Celsius: 19}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pushed: %+v\n", <-values)

	// Over the mesh: the publisher registers the channel, a peer subscribes.
	key := bytes.Repeat([]byte{7}, 32)
	publisher, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer publisher.Close()
	subscriber, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer subscriber.Close()
	addr, _ := publisher.LocalAddr()
	if _, err := subscriber.Connect(ctx, addr, publisher.PublicKey()); err != nil {
		log.Fatal(err)
	}
	if err := publisher.RegisterChannel(net.ChannelConfig{Name: "plant/temps"}); err != nil {
		log.Fatal(err)
	}
	out, _ := net.NewMeshChannel[Reading](publisher, "plant/temps")
	in, _ := net.NewMeshChannel[Reading](subscriber, "plant/temps")
	remote, err := in.Subscribe(ctx, publisher.NodeID())
	if err != nil {
		log.Fatal(err)
	}
	defer remote.Close()
	report, err := out.Publish(Reading{SensorID: "boiler", Celsius: 81})
	if err != nil {
		log.Fatal(err)
	}
	value, err := remote.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("mesh: delivered %d, got %+v\n", report.Delivered, value)
}
