package net

// Channels on a mesh node: register channels with their rules, subscribe to a
// publisher's channels, publish, receive.

/*
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// ChannelConfig is a channel this node publishes on, and its rules.
type ChannelConfig struct {
	// Name is the channel ("sensors/lidar").
	Name string
	// Visibility says which subnets may subscribe ("" is VisibilityGlobal).
	Visibility Visibility
	// PublishCaps is what this node's own announced capabilities must
	// satisfy for it to publish (nil: nothing).
	PublishCaps *Predicate
	// SubscribeCaps is what a subscriber's announced capabilities must
	// satisfy (nil: nothing).
	SubscribeCaps *Predicate
	// RequireToken makes subscribers present a token chain granting
	// subscribe on the channel, checked against the node's TokenCache.
	RequireToken bool
	// FireAndForget sends without acknowledgements (default: reliable).
	FireAndForget bool
	// Congestion is what a publish on a reliable channel does when a
	// subscriber's window is full ("" keeps the engine's default,
	// CongestionBlock).
	Congestion Congestion
	// BlockTimeout bounds how long CongestionBlock waits for one
	// subscriber within one publish (0 keeps the engine's default, 1 s).
	BlockTimeout time.Duration
	// Priority is 0 (the default) to 7. Each priority has its own data
	// stream to each subscriber, so a backlog on a lower one never holds up
	// a higher one, and packed messages of higher priorities leave first.
	// Order holds within a channel, not across priorities.
	Priority uint8
}

// Congestion is what a publish does when a reliable subscriber's window is
// full.
type Congestion string

const (
	// CongestionBlock waits for room, up to the channel's BlockTimeout;
	// nothing is lost while the subscriber keeps up within it.
	CongestionBlock Congestion = "block"
	// CongestionDrop skips the subscriber for that publish ("backpressure"
	// in the report).
	CongestionDrop Congestion = "drop"
)

func (c ChannelConfig) json() string {
	m := map[string]any{"name": c.Name, "require_token": c.RequireToken, "reliable": !c.FireAndForget}
	if c.Visibility != "" {
		m["visibility"] = string(c.Visibility)
	}
	if c.PublishCaps != nil {
		m["publish_caps"] = c.PublishCaps.node
	}
	if c.SubscribeCaps != nil {
		m["subscribe_caps"] = c.SubscribeCaps.node
	}
	if c.Congestion != "" {
		m["congestion"] = string(c.Congestion)
	}
	if c.BlockTimeout != 0 {
		m["block_timeout_ms"] = millis(c.BlockTimeout)
	}
	if c.Priority != 0 {
		m["priority"] = c.Priority
	}
	data, _ := json.Marshal(m)
	return string(data)
}

// NormalizeChannelConfig reads a channel config in the engine's JSON form and
// returns it with every default filled in, as a node registering it enforces
// it (ErrInvalidChannelConfig, ErrInvalidChannelName, ErrInvalidPredicate).
func NormalizeChannelConfig(configJSON string) (string, error) {
	text := []byte(configJSON)
	var out *C.char
	var n C.size_t
	err := cCall(func() C.int32_t {
		return C.net_channel_config_normalize(bytesPtr(text), C.size_t(len(text)), &out, &n)
	})
	runtime.KeepAlive(text)
	if err != nil {
		return "", err
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n)), nil
}

// Normalized returns the config as the engine enforces it (every default
// filled in), in the engine's JSON form.
func (c ChannelConfig) Normalized() (string, error) {
	return NormalizeChannelConfig(c.json())
}

// SkippedSubscriber is a subscriber a publish did not send to, and why
// ("expired", "revoked", "backpressure", "no_session").
type SkippedSubscriber struct {
	NodeID uint64
	Reason string
}

// PublishReport is what a publish did.
type PublishReport struct {
	// Attempted counts the roster members considered.
	Attempted int
	// Delivered counts the messages handed to subscribers' streams.
	Delivered int
	// Skipped lists who was not sent to, and why.
	Skipped []SkippedSubscriber
}

// RegisterChannel registers a channel this node publishes on.
// ErrInvalidChannelConfig when it is registered already.
func (m *Mesh) RegisterChannel(cfg ChannelConfig) error {
	text := cfg.json()
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	return m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_register_channel(h, cs, C.size_t(len(text)))
	})
}

// UnregisterChannel drops a channel and its roster; false when it was not
// registered.
func (m *Mesh) UnregisterChannel(name string) (bool, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var rc C.int32_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		rc = C.net_mesh_unregister_channel(h, cs, C.size_t(len(name)))
		return rc
	})
	return err == nil && rc == C.NET_OK, err
}

// ChannelSubscribers returns the node ids subscribed to a registered
// channel, ascending.
func (m *Mesh) ChannelSubscribers(name string) ([]uint64, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var ids *C.uint64_t
	var count C.size_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_channel_subscribers(h, cs, C.size_t(len(name)), &ids, &count)
	})
	if err != nil {
		return nil, err
	}
	out := make([]uint64, int(count))
	if count > 0 {
		copy(out, unsafe.Slice((*uint64)(unsafe.Pointer(ids)), int(count)))
		C.net_node_ids_free(ids, count)
	}
	return out, nil
}

// TokenCache returns the node's token cache, against which subscribers'
// chains are checked: Trust the roots that grant access here, Revoke tokens
// (the next publish drops members whose chains rest on them). Close the
// returned handle when done; the node keeps its cache.
func (m *Mesh) TokenCache() (*TokenCache, error) {
	var handle *C.net_token_cache_t
	if err := m.call(func(h *C.net_mesh_t) C.int32_t { return C.net_mesh_token_cache(h, &handle) }); err != nil {
		return nil, err
	}
	c := &TokenCache{handle: handle}
	runtime.SetFinalizer(c, func(c *TokenCache) { _ = c.Close() })
	return c, nil
}

// Publish sends payload on a registered channel to every subscriber the
// auth guard admits. ErrUnknownChannel for a channel not registered here,
// ErrChannelUnauthorized when this node misses the channel's PublishCaps.
func (m *Mesh) Publish(channel string, payload []byte) (PublishReport, error) {
	cs := C.CString(channel)
	defer C.free(unsafe.Pointer(cs))
	var out *C.char
	var n C.size_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_publish(h, cs, C.size_t(len(channel)), (*C.uint8_t)(unsafe.Pointer(bytesPtr(payload))), C.size_t(len(payload)), &out, &n)
	})
	runtime.KeepAlive(payload)
	if err != nil {
		return PublishReport{}, err
	}
	defer C.net_string_free(out)
	var raw struct {
		Attempted int `json:"attempted"`
		Delivered int `json:"delivered"`
		Skipped   []struct {
			NodeID string `json:"node_id"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(C.GoStringN(out, C.int(n))), &raw); err != nil {
		return PublishReport{}, err
	}
	report := PublishReport{Attempted: raw.Attempted, Delivered: raw.Delivered}
	for _, s := range raw.Skipped {
		id, _ := strconv.ParseUint(s.NodeID, 10, 64)
		report.Skipped = append(report.Skipped, SkippedSubscriber{NodeID: id, Reason: s.Reason})
	}
	return report, nil
}

// ChannelStats returns the node's channel counters.
func (m *Mesh) ChannelStats() (ChannelStats, error) {
	var s ChannelStats
	err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t {
		return C.net_mesh_channel_stats(h, out, nil)
	}, &s)
	return s, err
}

// ChannelMessage is a message received on a channel.
type ChannelMessage struct {
	Publisher uint64
	Channel   string
	Payload   []byte
}

// ChannelSubscription is a subscription to one publisher's channel (or
// pattern of channels). Close unsubscribes.
type ChannelSubscription struct {
	handle    *C.net_channel_subscription_t
	publisher uint64
	accepted  []string
	once      sync.Once
	mesh      *Mesh
}

// Subscribe asks publisher for pattern (a channel name, "prefix/*" or
// "prefix/**"), presenting chain (root grant first; none when the channels
// need no token), and waits for the acknowledgement until ctx ends (at most
// 10 s without a deadline). A refusal is ErrUnknownChannel,
// ErrChannelUnauthorized, ErrChannelRateLimited or ErrChannelSubnet.
func (m *Mesh) Subscribe(ctx context.Context, publisher uint64, pattern string, chain ...Token) (*ChannelSubscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := 10 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Millisecond)
	}
	var joined []byte
	for _, t := range chain {
		joined = append(joined, t...)
	}
	cs := C.CString(pattern)
	defer C.free(unsafe.Pointer(cs))
	var handle *C.net_channel_subscription_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_subscribe(h, C.uint64_t(publisher), cs, C.size_t(len(pattern)),
			(*C.uint8_t)(unsafe.Pointer(bytesPtr(joined))), C.size_t(len(joined)), C.uint64_t(timeout.Milliseconds()), &handle)
	})
	runtime.KeepAlive(joined)
	if err != nil {
		if errors.Is(err, ErrMeshTimeout) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	s := &ChannelSubscription{handle: handle, publisher: publisher, mesh: m}
	var out *C.char
	var n C.size_t
	if rc := C.net_channel_subscription_accepted(handle, &out, &n); rc == C.NET_OK {
		_ = json.Unmarshal([]byte(C.GoStringN(out, C.int(n))), &s.accepted)
		C.net_string_free(out)
	}
	runtime.SetFinalizer(s, func(s *ChannelSubscription) { _ = s.Close() })
	return s, nil
}

// Publisher is the publisher's node id.
func (s *ChannelSubscription) Publisher() uint64 { return s.publisher }

// Accepted lists the channels the publisher admitted this node to.
func (s *ChannelSubscription) Accepted() []string { return append([]string(nil), s.accepted...) }

// Next returns the next message, waiting until ctx ends (ctx.Err()).
func (s *ChannelSubscription) Next(ctx context.Context) (ChannelMessage, error) {
	var msg ChannelMessage
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		var out C.net_channel_message_t
		runtime.LockOSThread()
		rc := C.net_channel_subscription_next_cancellable(s.handle, -1, token, &out)
		var err error
		if rc < 0 {
			err = lastError(rc)
		}
		runtime.UnlockOSThread()
		runtime.KeepAlive(s)
		if err != nil {
			return err
		}
		msg = channelMessageOf(&out)
		C.net_channel_message_free(&out)
		return nil
	})
	return msg, err
}

// Messages delivers messages on a Go channel until ctx ends or the
// subscription fails (it is closed, or the node shut down), then closes it.
func (s *ChannelSubscription) Messages(ctx context.Context) <-chan ChannelMessage {
	return pump(ctx, s.Next)
}

// channelMessageOf copies an engine channel message (borrowed or owned).
func channelMessageOf(m *C.net_channel_message_t) ChannelMessage {
	msg := ChannelMessage{Publisher: uint64(m.publisher), Channel: C.GoString(m.channel), Payload: []byte{}}
	if m.payload != nil && m.payload_len > 0 {
		msg.Payload = C.GoBytes(unsafe.Pointer(m.payload), C.int(m.payload_len))
	}
	return msg
}

// pump delivers what next returns on a Go channel until ctx ends or next
// fails, then closes it.
func pump[T any](ctx context.Context, next func(context.Context) (T, error)) <-chan T {
	ch := make(chan T)
	go func() {
		defer close(ch)
		for {
			item, err := next(ctx)
			if err != nil {
				return
			}
			select {
			case ch <- item:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// Close unsubscribes and releases the subscription (idempotent).
func (s *ChannelSubscription) Close() error {
	s.once.Do(func() {
		C.net_channel_subscription_free(s.handle)
		runtime.SetFinalizer(s, nil)
	})
	return nil
}
