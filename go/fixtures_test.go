package net

// Golden fixture runner: walks tests/cross_lang/ through the public Go API and
// writes build/parity/go.tsv. Files listed in goGaps (none today) would be
// reported as gaps, not run.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type fixtureFile struct {
	ABIVersion int               `json:"abi_version"`
	Cases      []json.RawMessage `json:"cases"`
	Kinds      []struct {
		Kind   string `json:"kind"`
		Area   string `json:"area"`
		Reason string `json:"reason"`
		Code   int    `json:"code"`
	} `json:"kinds"`
	Vectors        []map[string]any    `json:"vectors"`
	Errors         []map[string]any    `json:"errors"`
	Headers        []map[string]any    `json:"headers"`
	RoutingHeaders []map[string]any    `json:"routing_headers"`
	Malformed      []map[string]any    `json:"malformed"`
	Snapshots      []map[string]any    `json:"snapshots"`
	Opens          []map[string]any    `json:"opens"`
	Heap           []map[string]any    `json:"heap"`
	Inline         []map[string]any    `json:"inline"`
	Frames         []map[string]any    `json:"frames"`
	Tokens         []map[string]any    `json:"tokens"`
	Identities     map[string]string   `json:"identities"`
	Names          []map[string]any    `json:"names"`
	Capability     []map[string]any    `json:"capability"`
	Subnet         []map[string]any    `json:"subnet"`
	Local          []localCase         `json:"local"`
	ChannelConfigs []channelConfigCase `json:"channel_configs"`
	Typed          []typedCase         `json:"typed"`
	Configs        []struct {
		Name      string          `json:"name"`
		Config    json.RawMessage `json:"config"`
		Error     string          `json:"error"`
		PublicKey string          `json:"public_key"`
		NodeID    string          `json:"node_id"`
	} `json:"configs"`
	// LinkOptions and Transfers are mesh/bus_link.json's two lists.
	LinkOptions []struct {
		Name    string          `json:"name"`
		Options json.RawMessage `json:"options"`
		Error   string          `json:"error"`
	} `json:"options"`
	Transfers []struct {
		Name    string                     `json:"name"`
		Options map[string]json.RawMessage `json:"options"`
		Events  []string                   `json:"events"`
	} `json:"transfers"`
	// Records and StreamDefaults are mesh/records.json's.
	Records        map[string][]string `json:"records"`
	StreamDefaults *struct {
		Reliability    string `json:"reliability"`
		ReliableWindow uint32 `json:"reliable_window"`
	} `json:"stream_defaults"`
}

type fixtureCase struct {
	Name       string           `json:"name"`
	Config     json.RawMessage  `json:"config"`
	ConfigText *string          `json:"config_text"`
	OpenError  string           `json:"open_error"`
	Model      string           `json:"model"`
	Steps      []map[string]any `json:"steps"`
}

type caseState struct {
	node    *Node
	cursor  string
	sub     *Subscription
	handler *Handler
	seenMu  sync.Mutex
	seen    [][]byte
}

func jsonEqual(a, b any) bool {
	return reflect.DeepEqual(a, b)
}

func eventMatches(raw []byte, want map[string]any) bool {
	if j, ok := want["json"]; ok {
		var got any
		return json.Unmarshal(raw, &got) == nil && jsonEqual(got, j)
	}
	if t, ok := want["text"]; ok {
		return string(raw) == t.(string)
	}
	b, err := hex.DecodeString(want["hex"].(string))
	return err == nil && string(b) == string(raw)
}

func strList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, len(items))
	for i, s := range items {
		out[i], _ = s.(string)
	}
	return out
}

func rawItems(step map[string]any) [][]byte {
	if texts, ok := step["texts"]; ok {
		var out [][]byte
		for _, t := range strList(texts) {
			out = append(out, []byte(t))
		}
		return out
	}
	var out [][]byte
	for _, h := range strList(step["hexes"]) {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	return out
}

func (c *caseState) cursorOf(step map[string]any) string {
	if t, ok := step["cursor_text"].(string); ok {
		return t
	}
	if step["cursor"] == "previous" {
		return c.cursor
	}
	return ""
}

func filterOf(step map[string]any) string {
	f, ok := step["filter"]
	if !ok {
		return ""
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// run performs one step; the map holds the comparable result.
func (c *caseState) run(step map[string]any) (map[string]any, error) {
	n := c.node
	receipt := func(r Receipt, err error) (map[string]any, error) {
		return map[string]any{"seq": float64(r.Seq), "shard": float64(r.Shard)}, err
	}
	count := func(k int, err error) (map[string]any, error) {
		return map[string]any{"count": float64(k)}, err
	}
	switch step["op"] {
	case "emit":
		return receipt(n.Ingest(step["value"]))
	case "emit_str":
		return receipt(n.IngestJSON(step["json"].(string)))
	case "emit_raw":
		if t, ok := step["text"].(string); ok {
			return receipt(n.IngestRaw(t))
		}
		b, _ := hex.DecodeString(step["hex"].(string))
		return receipt(n.IngestBytes(b))
	case "emit_batch":
		return count(n.IngestBatch(step["values"].([]any)))
	case "emit_str_batch":
		return count(n.IngestJSONBatch(strList(step["jsons"])))
	case "emit_raw_batch":
		return count(n.IngestBytesBatch(rawItems(step)))
	case "poll":
		resp, err := n.PollFiltered(int(step["limit"].(float64)), c.cursorOf(step), filterOf(step))
		if err != nil {
			return nil, err
		}
		c.cursor = resp.NextCursor
		return map[string]any{"raws": resp.Events, "count": float64(len(resp.Events)), "has_more": resp.HasMore}, nil
	case "subscribe":
		sub, err := n.Subscribe(context.Background(), SubscribeOptions{Cursor: c.cursorOf(step), Filter: filterOf(step)})
		c.sub = sub
		return map[string]any{}, err
	case "next":
		expect, _ := step["expect"].(map[string]any)
		want := -1
		if evs, ok := expect["events"].([]any); ok {
			want = len(evs)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(step["timeout_ms"].(float64))*time.Millisecond)
		defer cancel()
		var raws [][]byte
		done := false
		for want < 0 || len(raws) < want || want == 0 {
			ev, err := c.sub.Next(ctx)
			if err == io.EOF {
				done = true
				break
			}
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, err
			}
			raws = append(raws, ev.Raw)
		}
		return map[string]any{"raws": raws, "done": done}, nil
	case "leave":
		// Next until `take` events, then Close: what was fetched but not
		// returned goes back to the bus.
		take := int(step["take"].(float64))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var raws [][]byte
		for len(raws) < take {
			ev, err := c.sub.Next(ctx)
			if err != nil {
				return nil, err
			}
			raws = append(raws, ev.Raw)
		}
		return map[string]any{"raws": raws}, c.sub.Close()
	case "on_event":
		return map[string]any{}, c.onEvent(step)
	case "handler_wait":
		want, _ := step["expect"].(map[string]any)
		events, _ := want["events"].([]any)
		closed, _ := want["closed"].(bool)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			c.seenMu.Lock()
			got := len(c.seen)
			c.seenMu.Unlock()
			if got >= len(events) && (!closed || c.handler.Stats().Closed) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		c.seenMu.Lock()
		raws := append([][]byte(nil), c.seen...)
		c.seenMu.Unlock()
		st := c.handler.Stats()
		return map[string]any{"raws": raws, "delivered": float64(st.Delivered), "failed": float64(st.Failed), "closed": st.Closed}, nil
	case "handler_close":
		return map[string]any{}, c.handler.Close()
	case "flush":
		return map[string]any{}, n.Flush()
	case "shutdown":
		return map[string]any{}, n.Shutdown()
	case "stats", "health":
		var v any
		var err error
		if step["op"] == "stats" {
			v, err = n.Stats()
		} else {
			v, err = n.Health()
		}
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m, nil
	}
	return nil, fmt.Errorf("unknown op %v", step["op"])
}

// onEvent registers the fixture's handler: it records each event, panics on
// fail_on (the Go way), emits emit_on.text from inside, and closes itself from
// inside after close_after calls.
func (c *caseState) onEvent(step map[string]any) error {
	failOn := strList(step["fail_on"])
	emitOn, _ := step["emit_on"].(map[string]any)
	closeAfter, _ := step["close_after"].(float64)
	filter := filterOf(step)
	if t, ok := step["filter_text"].(string); ok {
		filter = t
	}
	registered := make(chan struct{})
	n := c.node
	h, err := n.OnEvent(context.Background(), SubscribeOptions{Cursor: c.cursorOf(step), Filter: filter}, func(e Event) {
		c.seenMu.Lock()
		c.seen = append(c.seen, e.Raw)
		calls := len(c.seen)
		c.seenMu.Unlock()
		if emitOn != nil && string(e.Raw) == emitOn["when"] {
			if _, err := n.IngestRaw(emitOn["text"].(string)); err != nil {
				panic(err)
			}
		}
		if closeAfter > 0 && calls == int(closeAfter) {
			<-registered
			_ = c.handler.Close()
		}
		for _, f := range failOn {
			if string(e.Raw) == f {
				panic("the fixture's handler fails on this event")
			}
		}
	})
	if err != nil {
		return err
	}
	c.handler = h
	close(registered)
	return nil
}

func compareStep(step map[string]any, got map[string]any, err error) error {
	op := step["op"]
	if want, ok := step["error"].(string); ok {
		var e *Error
		if err == nil {
			return fmt.Errorf("%v: expected %s, got success", op, want)
		}
		if !errors.As(err, &e) || e.Kind != want {
			return fmt.Errorf("%v: expected %s, got %v", op, want, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%v: unexpected %v", op, err)
	}
	expect, _ := step["expect"].(map[string]any)
	for k, v := range expect {
		if k == "events" {
			raws, _ := got["raws"].([][]byte)
			evs := v.([]any)
			if len(raws) != len(evs) {
				return fmt.Errorf("%v: expected %d events, got %d", op, len(evs), len(raws))
			}
			for i, e := range evs {
				if !eventMatches(raws[i], e.(map[string]any)) {
					return fmt.Errorf("%v: event %d is %q, want %v", op, i, raws[i], e)
				}
			}
			continue
		}
		if !jsonEqual(got[k], v) {
			return fmt.Errorf("%v: %s is %v, want %v", op, k, got[k], v)
		}
	}
	return nil
}

func runCase(raw json.RawMessage) error {
	var fc fixtureCase
	if err := json.Unmarshal(raw, &fc); err != nil {
		return err
	}
	if fc.Model != "" {
		return runModelCase(fc)
	}
	// The engine assigns shards per OS thread: pin the case to one thread so
	// single-shard ordering expectations hold.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	config := string(fc.Config)
	if fc.ConfigText != nil {
		config = *fc.ConfigText
	}
	node, err := NewFromJSON(config)
	if fc.OpenError != "" {
		var e *Error
		if err == nil {
			node.Close()
			return fmt.Errorf("open: expected %s, got success", fc.OpenError)
		}
		if !errors.As(err, &e) || e.Kind != fc.OpenError {
			return fmt.Errorf("open: expected %s, got %v", fc.OpenError, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %v", err)
	}
	defer node.Close()
	state := &caseState{node: node}
	defer func() {
		if state.sub != nil {
			state.sub.Close()
		}
		if state.handler != nil {
			state.handler.Close()
		}
	}()
	for i, step := range fc.Steps {
		got, err := state.run(step)
		if err := compareStep(step, got, err); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

func checkKinds(doc fixtureFile) error {
	lib, err := LibraryKinds()
	if err != nil {
		return err
	}
	if len(lib) != len(doc.Kinds) || len(Kinds()) != len(doc.Kinds) {
		return fmt.Errorf("kinds: fixture %d, library %d, package %d", len(doc.Kinds), len(lib), len(Kinds()))
	}
	for i, k := range doc.Kinds {
		if lib[i].Kind != k.Kind || lib[i].Code != k.Code || lib[i].Area != k.Area || lib[i].Reason != k.Reason {
			return fmt.Errorf("library kind %d is %s/%d, fixture %s/%d", i, lib[i].Kind, lib[i].Code, k.Kind, k.Code)
		}
		sentinel := Kinds()[i]
		if sentinel.Kind != k.Kind || sentinel.Code != k.Code || sentinel.Area != k.Area || sentinel.Reason != k.Reason ||
			!errors.Is(errorFor(k.Code, "x"), sentinel) {
			return fmt.Errorf("no sentinel for %s", k.Kind)
		}
	}
	return nil
}

// goAreas are the fixture folders the Go API covers today.
var goAreas = map[string]bool{"bus": true, "capability": true, "channel": true, "cortex": true, "errors": true, "identity": true,
	"mesh": true, "redex": true, "subnet": true, "token": true, "wire": true}

// goGaps are files of covered areas whose subject Go does not expose yet.
var goGaps = map[string]bool{}

var modelWrites = map[string]bool{"create": true, "rename": true, "complete": true, "delete": true,
	"store": true, "retag": true, "pin": true, "unpin": true}

// openUnits runs redex/open.json: two managers on one directory, one writer per log.
func openUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Opens {
		out = append(out, func() error {
			dir, err := os.MkdirTemp("", "net-go-open-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			first, second := c["first"].(string), c["second"].(string)
			a, err := OpenRedex(dir)
			if err != nil {
				return err
			}
			defer a.Close()
			b, err := OpenRedex(dir)
			if err != nil {
				return err
			}
			defer b.Close()
			if _, err := a.OpenLog(first, LogConfig{}); err != nil {
				return fmt.Errorf("first: %v", err)
			}
			_, err = b.OpenLog(second, LogConfig{})
			if want, ok := c["error"].(string); ok {
				if kindOf(err) != want {
					return fmt.Errorf("%v: want %s, got %v", c["name"], want, err)
				}
			} else if err != nil {
				return fmt.Errorf("%v: %v", c["name"], err)
			}
			if err := a.Close(); err != nil {
				return err
			}
			if err := b.Close(); err != nil {
				return err
			}
			again, err := OpenRedex(dir)
			if err != nil {
				return err
			}
			defer again.Close()
			if _, err := again.OpenLog(second, LogConfig{}); err != nil {
				return fmt.Errorf("%v: after close: %v", c["name"], err)
			}
			return nil
		}())
	}
	return out
}

// snapshotUnits restores another language's snapshot bytes, then queries.
func snapshotUnits(doc fixtureFile) []error {
	var out []error
	for _, snap := range doc.Snapshots {
		db, err := RestoreNetDB(unhex(snap["hex"]), NetDBOptions{})
		if err != nil {
			out = append(out, fmt.Errorf("restore: %v", err))
			continue
		}
		for _, raw := range snap["queries"].([]any) {
			q := raw.(map[string]any)
			args, ok := q["filter"]
			if !ok {
				args = map[string]any{"id": q["id"]}
			}
			var got any
			if err := db.Read(q["model"].(string), q["op"].(string), args, &got); err != nil {
				out = append(out, err)
				continue
			}
			if q["op"] == "find_many" {
				ids := []any{}
				for _, row := range got.([]any) {
					ids = append(ids, row.(map[string]any)["id"])
				}
				got = ids
			}
			var want any
			for _, v := range q["expect"].(map[string]any) {
				want = v
			}
			if !reflect.DeepEqual(norm(got), norm(want)) {
				out = append(out, fmt.Errorf("%v %v: got %v, want %v", q["model"], q["op"], got, want))
			} else {
				out = append(out, nil)
			}
		}
		db.Close()
	}
	return out
}

// runModelCase runs a cortex/tasks.json or cortex/memories.json case.
func runModelCase(fc fixtureCase) error {
	db, err := OpenNetDB(NetDBOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	for i, step := range fc.Steps {
		op := step["op"].(string)
		args := map[string]any{}
		for k, v := range step {
			if k != "op" && k != "expect" && k != "filter" {
				args[k] = v
			}
		}
		if modelWrites[op] {
			token, err := db.Write(fc.Model, op, args)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = db.WaitForToken(ctx, token)
				cancel()
			}
			if err != nil {
				return fmt.Errorf("step %d (%s): %v", i, op, err)
			}
			continue
		}
		query := any(args)
		if f, ok := step["filter"]; ok {
			query = f
		}
		var got any
		if err := db.Read(fc.Model, op, query, &got); err != nil {
			return fmt.Errorf("step %d (%s): %v", i, op, err)
		}
		expect := step["expect"].(map[string]any)
		var want any
		for _, v := range expect {
			want = v
		}
		if op == "find_many" {
			ids := []any{}
			for _, row := range got.([]any) {
				ids = append(ids, row.(map[string]any)["id"])
			}
			got = ids
		}
		if !reflect.DeepEqual(norm(got), norm(want)) {
			return fmt.Errorf("step %d (%s): got %v, want %v", i, op, got, want)
		}
		if op == "find_unique" && fc.Model == "tasks" {
			if err := typedTaskMatches(db, step["id"], want); err != nil {
				return fmt.Errorf("step %d (%s): %v", i, op, err)
			}
		}
	}
	return nil
}

// norm turns every number into its decimal string: NetDB results carry 64-bit
// fields as decimal strings and fixtures write small ones as numbers.
func norm(v any) any {
	switch t := v.(type) {
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = norm(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = norm(x)
		}
		return out
	}
	return v
}

// typedTaskMatches reads a task through the typed API (uint64 fields) and
// compares it with the fixture's expected task.
func typedTaskMatches(db *NetDB, id any, want any) error {
	n, err := strconv.ParseUint(norm(id).(string), 10, 64)
	if err != nil {
		return err
	}
	t, err := db.Tasks().FindUnique(n)
	if err != nil {
		return err
	}
	if want == nil {
		if t != nil {
			return fmt.Errorf("typed: got %+v, want none", *t)
		}
		return nil
	}
	w := norm(want).(map[string]any)
	got := map[string]any{"id": strconv.FormatUint(t.ID, 10), "title": t.Title, "status": t.Status,
		"created_ns": strconv.FormatUint(t.CreatedNs, 10), "updated_ns": strconv.FormatUint(t.UpdatedNs, 10)}
	if !reflect.DeepEqual(got, w) {
		return fmt.Errorf("typed: got %v, want %v", got, w)
	}
	return nil
}

func unhex(v any) []byte {
	b, _ := hex.DecodeString(v.(string))
	return b
}

func kindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return fmt.Sprint(err)
}

// identityUnits checks identity/vectors.json: one unit per vector and error entry.
func identityUnits(doc fixtureFile) []error {
	var out []error
	for _, v := range doc.Vectors {
		out = append(out, func() error {
			id, err := IdentityFromSeed(unhex(v["seed"]))
			if err != nil {
				return err
			}
			defer id.Close()
			pk, _ := id.PublicKey()
			if hex.EncodeToString(pk) != v["public_key"] {
				return fmt.Errorf("public key %x", pk)
			}
			nodeID, origin, err := PublicKeyIDs(pk)
			if err != nil || fmt.Sprint(nodeID) != v["node_id"] || float64(origin) != v["origin_hash"] {
				return fmt.Errorf("ids %d %d %v", nodeID, origin, err)
			}
			if own, _ := id.NodeID(); own != nodeID {
				return fmt.Errorf("node id %d", own)
			}
			sig, _ := id.Sign(unhex(v["message"]))
			if hex.EncodeToString(sig) != v["signature"] {
				return fmt.Errorf("signature %x", sig)
			}
			return Verify(pk, unhex(v["message"]), sig)
		}())
	}
	for _, e := range doc.Errors {
		var err error
		switch e["op"] {
		case "from_seed":
			var id *Identity
			if id, err = IdentityFromSeed(unhex(e["seed"])); err == nil {
				id.Close()
			}
		case "ids":
			_, _, err = PublicKeyIDs(unhex(e["public_key"]))
		case "verify":
			err = Verify(unhex(e["public_key"]), unhex(e["message"]), unhex(e["signature"]))
		}
		if kindOf(err) != e["error"] {
			out = append(out, fmt.Errorf("%v: got %v, want %v", e["op"], err, e["error"]))
		} else {
			out = append(out, nil)
		}
	}
	return out
}

func num(f map[string]any, k string) uint64 {
	switch v := f[k].(type) {
	case float64:
		return uint64(v)
	case string:
		var n uint64
		fmt.Sscan(v, &n)
		return n
	}
	return 0
}

// wireUnits checks wire/headers.json: one unit per entry.
func wireUnits(doc fixtureFile) []error {
	var out []error
	for _, h := range doc.Headers {
		f := h["fields"].(map[string]any)
		hdr := NetHeader{uint8(num(f, "version")), uint8(num(f, "flags")), uint8(num(f, "priority")),
			uint8(num(f, "hop_ttl")), uint8(num(f, "hop_count")), uint8(num(f, "frag_flags")),
			uint16(num(f, "subprotocol_id")), uint16(num(f, "channel_hash")), [12]byte{},
			num(f, "session_id"), num(f, "stream_id"), num(f, "sequence"), uint32(num(f, "subnet_id")),
			uint32(num(f, "origin_hash")), uint16(num(f, "fragment_id")), uint16(num(f, "fragment_offset")),
			uint16(num(f, "payload_len")), uint16(num(f, "event_count"))}
		copy(hdr.Nonce[:], unhex(f["nonce"]))
		b, err := hdr.Encode()
		back, derr := DecodeNetHeader(unhex(h["hex"]))
		if err != nil || hex.EncodeToString(b) != h["hex"] || derr != nil || back != hdr {
			out = append(out, fmt.Errorf("header %v: %x %v %v", h["hex"], b, err, derr))
		} else {
			out = append(out, nil)
		}
	}
	for _, r := range doc.RoutingHeaders {
		f := r["fields"].(map[string]any)
		rh := RoutingHeader{uint8(num(f, "ttl")), uint8(num(f, "hop_count")), uint8(num(f, "flags")),
			uint32(num(f, "src_id")), num(f, "dest_id")}
		b, err := rh.Encode()
		back, derr := DecodeRoutingHeader(unhex(r["hex"]))
		if err != nil || hex.EncodeToString(b) != r["hex"] || derr != nil || back != rh {
			out = append(out, fmt.Errorf("routing %v: %x %v %v", r["hex"], b, err, derr))
		} else {
			out = append(out, nil)
		}
	}
	for _, m := range doc.Malformed {
		var err error
		if m["decoder"] == "header" {
			_, err = DecodeNetHeader(unhex(m["hex"]))
		} else {
			_, err = DecodeRoutingHeader(unhex(m["hex"]))
		}
		if kindOf(err) != m["error"] || !strings.Contains(fmt.Sprint(err), m["reason"].(string)) {
			out = append(out, fmt.Errorf("malformed %v: %v", m["reason"], err))
		} else {
			out = append(out, nil)
		}
	}
	return out
}

// recordUnits checks redex/records.json: heap and inline records, malformed ones.
func recordUnits(doc fixtureFile) []error {
	var out []error
	for _, h := range doc.Heap {
		b, err := EncodeHeapRecord(num(h, "seq"), uint32(num(h, "offset")), unhex(h["payload_hex"]))
		r, derr := DecodeRedexRecord(unhex(h["hex"]))
		if err != nil || hex.EncodeToString(b[:]) != h["hex"] || derr != nil || r.Seq != num(h, "seq") ||
			r.Inline || r.Len != uint32(len(unhex(h["payload_hex"]))) || r.FlagsChecksum != uint32(num(h, "flags_checksum")) {
			out = append(out, fmt.Errorf("heap record %v: %x %v %v", h["hex"], b, err, derr))
		} else {
			out = append(out, nil)
		}
	}
	for _, i := range doc.Inline {
		var payload [8]byte
		copy(payload[:], unhex(i["payload_hex"]))
		b := EncodeInlineRecord(num(i, "seq"), payload)
		r, derr := DecodeRedexRecord(unhex(i["hex"]))
		if hex.EncodeToString(b[:]) != i["hex"] || derr != nil || !r.Inline || r.InlinePayload != payload {
			out = append(out, fmt.Errorf("inline record %v: %x %v", i["hex"], b, derr))
		} else {
			out = append(out, nil)
		}
	}
	for _, m := range doc.Malformed {
		_, err := DecodeRedexRecord(unhex(m["hex"]))
		out = append(out, expectKind(err, m["error"]))
	}
	return out
}

// frameUnits checks cortex/meta.json: event-meta framing, malformed frames.
func frameUnits(doc fixtureFile) []error {
	var out []error
	for _, f := range doc.Frames {
		payload := unhex(f["payload_hex"])
		b, err := FrameEvent(uint8(num(f, "dispatch")), uint32(num(f, "origin_hash")), num(f, "seq_or_ts"), payload)
		meta, back, uerr := UnframeEvent(unhex(f["hex"]))
		if err != nil || hex.EncodeToString(b) != f["hex"] || uerr != nil || !bytes.Equal(back, payload) ||
			meta.Dispatch != uint8(num(f, "dispatch")) || meta.OriginHash != uint32(num(f, "origin_hash")) ||
			meta.SeqOrTs != num(f, "seq_or_ts") {
			out = append(out, fmt.Errorf("frame %v: %x %v %v", f["hex"], b, err, uerr))
		} else {
			out = append(out, nil)
		}
	}
	for _, m := range doc.Malformed {
		_, _, err := UnframeEvent(unhex(m["hex"]))
		out = append(out, expectKind(err, m["error"]))
	}
	return out
}

// meshConfigUnits checks mesh/config.json: each config binds (with the
// expected identity) or fails with its kind. The config object goes to the
// engine unchanged.
func meshConfigUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Configs {
		out = append(out, func() error {
			m, err := openMeshJSON(string(c.Config))
			if c.Error != "" {
				if err == nil {
					m.Close()
				}
				if err := expectKind(err, c.Error); err != nil {
					return fmt.Errorf("%s: %v", c.Name, err)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %v", c.Name, err)
			}
			defer m.Close()
			if c.PublicKey != "" && hex.EncodeToString(m.PublicKey()) != c.PublicKey {
				return fmt.Errorf("%s: public key %x", c.Name, m.PublicKey())
			}
			if c.NodeID != "" && fmt.Sprint(m.NodeID()) != c.NodeID {
				return fmt.Errorf("%s: node id %d", c.Name, m.NodeID())
			}
			if addr, err := m.LocalAddr(); err != nil || addr == "" {
				return fmt.Errorf("%s: bound to %q (%v)", c.Name, addr, err)
			}
			return m.Shutdown()
		}())
	}
	return out
}

// connectedMeshes binds nodes A and B on 127.0.0.1 with the network key
// 07…07 and connects A to B (bID); the caller closes both.
func connectedMeshes() (a, b *Mesh, bID uint64, err error) {
	cfg := MeshConfig{NetworkKey: bytes.Repeat([]byte{7}, 32), Bind: "127.0.0.1:0"}
	if a, err = OpenMesh(cfg); err != nil {
		return nil, nil, 0, err
	}
	if b, err = OpenMesh(cfg); err != nil {
		a.Close()
		return nil, nil, 0, err
	}
	addr, err := b.LocalAddr()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		bID, err = a.Connect(ctx, addr, b.PublicKey())
		cancel()
	}
	if err != nil {
		a.Close()
		b.Close()
		return nil, nil, 0, err
	}
	return a, b, bID, nil
}

// busLinkUnits checks mesh/bus_link.json on two connected nodes: each
// options object (unchanged) opens a send link from A to B or fails with its
// kind; each transfer carries its events from A's bus to B's, in order.
func busLinkUnits(doc fixtureFile) []error {
	a, b, bID, err := connectedMeshes()
	if err != nil {
		return []error{fmt.Errorf("bus link setup: %v", err)}
	}
	defer a.Close()
	defer b.Close()
	// One shard: a goroutine may emit from several OS threads, and the
	// sending bus keeps order per shard.
	bus := func() (*Node, error) { return New(&Config{NumShards: 1}) }
	var out []error
	for _, c := range doc.LinkOptions {
		out = append(out, func() error {
			outbox, err := bus()
			if err != nil {
				return err
			}
			defer outbox.Close()
			link, err := a.linkBusJSON(outbox, bID, string(c.Options))
			if c.Error != "" {
				if err == nil {
					_ = link.Close()
				}
				if err := expectKind(err, c.Error); err != nil {
					return fmt.Errorf("%s: %v", c.Name, err)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %v", c.Name, err)
			}
			return link.Close()
		}())
	}
	for _, c := range doc.Transfers {
		out = append(out, func() error {
			with := func(direction string) string {
				options := map[string]json.RawMessage{}
				for k, v := range c.Options {
					options[k] = v
				}
				options["direction"] = json.RawMessage(strconv.Quote(direction))
				text, _ := json.Marshal(options)
				return string(text)
			}
			outbox, err := bus()
			if err != nil {
				return err
			}
			defer outbox.Close()
			inbox, err := bus()
			if err != nil {
				return err
			}
			defer inbox.Close()
			receiving, err := b.linkBusJSON(inbox, a.NodeID(), with("receive"))
			if err != nil {
				return fmt.Errorf("%s: %v", c.Name, err)
			}
			defer receiving.Close()
			sending, err := a.linkBusJSON(outbox, bID, with("send"))
			if err != nil {
				return fmt.Errorf("%s: %v", c.Name, err)
			}
			defer sending.Close()
			for _, e := range c.Events {
				if _, err := outbox.IngestRaw(e); err != nil {
					return fmt.Errorf("%s: %v", c.Name, err)
				}
			}
			got := []string{}
			cursor := ""
			for deadline := time.Now().Add(10 * time.Second); len(got) < len(c.Events) && time.Now().Before(deadline); {
				page, err := inbox.Poll(100, cursor)
				if err != nil {
					return fmt.Errorf("%s: %v", c.Name, err)
				}
				for _, e := range page.Events {
					got = append(got, string(e))
				}
				cursor = page.NextCursor
				if len(page.Events) == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			if !reflect.DeepEqual(got, c.Events) {
				return fmt.Errorf("%s: got %q", c.Name, got)
			}
			return nil
		}())
	}
	return out
}

func expectKind(err error, want any) error {
	if kindOf(err) != want {
		return fmt.Errorf("want %v, got %v", want, err)
	}
	return nil
}

func TestCrossLangFixtures(t *testing.T) {
	root := filepath.Join("..", "tests", "cross_lang")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.json"))
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no fixture files found")
	}
	var report strings.Builder
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		if !goAreas[filepath.Dir(rel)] || goGaps[rel] {
			t.Logf("gap: %s (area not exposed in Go yet)", rel)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc fixtureFile
		if err := json.Unmarshal(data, &doc); err != nil || doc.ABIVersion != ABIVersion {
			t.Fatalf("%s: unreadable or wrong abi_version (%v)", rel, err)
		}
		passed, failed := 0, 0
		var units []error
		if doc.Vectors != nil {
			units = append(units, identityUnits(doc)...)
		}
		if doc.Headers != nil {
			units = append(units, wireUnits(doc)...)
		}
		if doc.Opens != nil {
			units = append(units, openUnits(doc)...)
		}
		if doc.Snapshots != nil {
			units = append(units, snapshotUnits(doc)...)
		}
		if doc.Inline != nil {
			units = append(units, recordUnits(doc)...)
		}
		if doc.Frames != nil {
			units = append(units, frameUnits(doc)...)
		}
		if doc.Configs != nil {
			units = append(units, meshConfigUnits(doc)...)
		}
		if doc.LinkOptions != nil || doc.Transfers != nil {
			units = append(units, busLinkUnits(doc)...)
		}
		if doc.Records != nil {
			units = append(units, sharedRecordUnits(doc)...)
		}
		if doc.Tokens != nil {
			units = append(units, tokenUnits(doc)...)
		}
		if doc.Names != nil {
			units = append(units, channelNameUnits(doc)...)
		}
		if doc.ChannelConfigs != nil {
			units = append(units, channelConfigUnits(doc)...)
		}
		if doc.Local != nil {
			units = append(units, localChannelUnits(doc)...)
		}
		if doc.Typed != nil {
			units = append(units, typedChannelUnits(doc)...)
		}
		if doc.Capability != nil {
			units = append(units, capabilityUnits(doc)...)
		}
		if doc.Subnet != nil {
			units = append(units, subnetUnits(doc)...)
		}
		for _, err := range units {
			if err != nil {
				failed++
				t.Errorf("%s: %v", rel, err)
			} else {
				passed++
			}
		}
		if doc.Kinds != nil {
			if err := checkKinds(doc); err != nil {
				failed++
				t.Errorf("%s: %v", rel, err)
			} else {
				passed++
			}
		}
		for _, c := range doc.Cases {
			if err := runCase(c); err != nil {
				failed++
				var name struct{ Name string }
				_ = json.Unmarshal(c, &name)
				t.Errorf("%s / %s: %v", rel, name.Name, err)
			} else {
				passed++
			}
		}
		fmt.Fprintf(&report, "%s\t%d\t%d\n", rel, passed, failed)
	}
	out := filepath.Join("..", "build", "parity")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "go.tsv"), []byte(report.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sharedRecordUnits runs mesh/records.json: the Go records' field names (their JSON
// tags, or Go's spelling of the engine's name: stream_id → StreamID) and the
// stream defaults over two connected nodes.
func sharedRecordUnits(doc fixtureFile) []error {
	goName := func(name string) string {
		var b strings.Builder
		for _, w := range strings.Split(name, "_") {
			if w == "id" {
				b.WriteString("ID")
			} else if w != "" {
				b.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
		return b.String()
	}
	tagged := func(v any) []string {
		var names []string
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			if tag := strings.Split(ty.Field(i).Tag.Get("json"), ",")[0]; tag != "" && tag != "-" {
				names = append(names, tag)
			}
		}
		sort.Strings(names)
		return names
	}
	sorted := func(names []string, spell func(string) string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = spell(n)
		}
		sort.Strings(out)
		return out
	}
	same := func(n string) string { return n }
	fields := func() error {
		for key, got := range map[string][]string{
			"mesh_stats":   tagged(MeshStats{}),
			"stream_stats": tagged(StreamStats{}),
		} {
			if want := sorted(doc.Records[key], same); !reflect.DeepEqual(got, want) {
				return fmt.Errorf("%s: %v, want %v", key, got, want)
			}
		}
		var message []string
		ty := reflect.TypeOf(Message{})
		for i := 0; i < ty.NumField(); i++ {
			message = append(message, ty.Field(i).Name)
		}
		sort.Strings(message)
		if want := sorted(doc.Records["message"], goName); !reflect.DeepEqual(message, want) {
			return fmt.Errorf("message: %v, want %v", message, want)
		}
		return nil
	}
	defaults := func() error {
		a, b, bID, err := connectedMeshes()
		if err != nil {
			return err
		}
		defer a.Close()
		defer b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		plain, err := a.OpenStream(bID, 9, StreamConfig{})
		if err != nil {
			return err
		}
		if st, err := plain.Stats(); err != nil || st.Reliability != doc.StreamDefaults.Reliability {
			return fmt.Errorf("default stream: %+v (%v)", st, err)
		}
		reliable, err := a.OpenStream(bID, 10, StreamConfig{Reliable: true})
		if err != nil {
			return err
		}
		if st, err := reliable.Stats(); err != nil || st.Window != doc.StreamDefaults.ReliableWindow {
			return fmt.Errorf("reliable stream: %+v (%v)", st, err)
		}
		if err := plain.Send([]byte("x")); err != nil {
			return err
		}
		m, err := b.Recv(ctx)
		if err != nil || m.From != a.NodeID() || m.StreamID != 9 {
			return fmt.Errorf("message %+v (%v)", m, err)
		}
		return nil
	}
	return []error{fields(), defaults()}
}
