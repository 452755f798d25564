package net

// A node's local channels, and typed channels on a node or over the mesh.

/*
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"unsafe"
)

// Publish publishes payload on the node's local channel (no registration: any
// valid name) and returns how many subscriptions took a copy. Where Ingest
// hands each event to one consumer, a channel fans out: every matching
// subscription gets every message (one whose queue is full misses it; see
// ChannelStats). ErrInvalidChannelName for a bad name, ErrShutdown after
// Shutdown.
func (n *Node) Publish(channel string, payload []byte) (int, error) {
	name := []byte(channel)
	var delivered C.size_t
	err := cCall(func() C.int32_t {
		return C.net_bus_channel_publish(n.handle, bytesPtr(name), C.size_t(len(name)),
			(*C.uint8_t)(unsafe.Pointer(bytesPtr(payload))), C.size_t(len(payload)), &delivered)
	})
	runtime.KeepAlive(name)
	runtime.KeepAlive(payload)
	return int(delivered), err
}

// SubscribeChannel subscribes to every later Publish on pattern (a name,
// "prefix/*" or "prefix/**"). The subscription reads like a mesh one (its
// Publisher is 0); Shutdown ends it.
func (n *Node) SubscribeChannel(pattern string) (*ChannelSubscription, error) {
	text := []byte(pattern)
	var handle *C.net_channel_subscription_t
	err := cCall(func() C.int32_t {
		return C.net_bus_channel_subscribe(n.handle, bytesPtr(text), C.size_t(len(text)), &handle)
	})
	runtime.KeepAlive(text)
	if err != nil {
		return nil, err
	}
	s := &ChannelSubscription{handle: handle, accepted: []string{pattern}}
	runtime.SetFinalizer(s, func(s *ChannelSubscription) { _ = s.Close() })
	return s, nil
}

// ChannelStats returns the local channels' counters.
func (n *Node) ChannelStats() (LocalChannelStats, error) {
	var s LocalChannelStats
	err := n.jsonCall(func(out **C.char) C.int32_t { return C.net_bus_channel_stats(n.handle, out, nil) }, &s)
	return s, err
}

// Validator is implemented by channel value types that check themselves: a
// typed channel calls Validate on every value it publishes and every message
// it decodes (encoding/json does not require fields; Validate can).
type Validator interface {
	Validate() error
}

func encodeValue[T any](name string, value T) ([]byte, error) {
	if v, ok := any(value).(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, ErrInvalidChannelMessage.with(fmt.Sprintf("a value for %s does not validate: %v", name, err))
		}
	}
	data, err := json.Marshal(value)
	if err != nil {
		return nil, ErrInvalidChannelMessage.with(fmt.Sprintf("a value for %s does not encode: %v", name, err))
	}
	return data, nil
}

func decodeValue[T any](m ChannelMessage) (T, error) {
	var value T
	fail := func(why string) (T, error) {
		var zero T
		return zero, ErrInvalidChannelMessage.with(fmt.Sprintf("a message on %s does not decode as %T: %s", m.Channel, zero, why))
	}
	// encoding/json leaves a struct untouched for null; a struct channel wants an object.
	if reflect.TypeOf(value) != nil && reflect.TypeOf(value).Kind() == reflect.Struct &&
		bytes.Equal(bytes.TrimSpace(m.Payload), []byte("null")) {
		return fail("null is not an object")
	}
	if err := json.Unmarshal(m.Payload, &value); err != nil {
		return fail(err.Error())
	}
	if v, ok := any(&value).(Validator); ok {
		if err := v.Validate(); err != nil {
			return fail(err.Error())
		}
	} else if v, ok := any(value).(Validator); ok {
		if err := v.Validate(); err != nil {
			return fail(err.Error())
		}
	}
	return value, nil
}

// TypedSubscription is a channel subscription that yields values of T.
type TypedSubscription[T any] struct {
	inner *ChannelSubscription
}

// Publisher is the publisher's node id (0 for local channels).
func (s *TypedSubscription[T]) Publisher() uint64 { return s.inner.Publisher() }

// Accepted lists the channels the publisher admitted this subscription to.
func (s *TypedSubscription[T]) Accepted() []string { return s.inner.Accepted() }

// Next returns the next value, waiting until ctx ends (ctx.Err()). A message
// that does not decode (or whose Validate fails) is ErrInvalidChannelMessage;
// the next call reads the next message.
func (s *TypedSubscription[T]) Next(ctx context.Context) (T, error) {
	m, err := s.inner.Next(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeValue[T](m)
}

// Close unsubscribes (idempotent).
func (s *TypedSubscription[T]) Close() error { return s.inner.Close() }

// Channel is a typed channel on a node's local channels: every subscriber
// gets every value published. Values travel as their JSON.
type Channel[T any] struct {
	node *Node
	name string
}

// NewChannel returns the typed channel name on node's local channels
// (ErrInvalidChannelName for a bad name).
func NewChannel[T any](node *Node, name string) (*Channel[T], error) {
	if err := CheckChannelName(name); err != nil {
		return nil, err
	}
	return &Channel[T]{node: node, name: name}, nil
}

// Name is the channel's name.
func (c *Channel[T]) Name() string { return c.name }

// Publish publishes value; it returns how many local subscriptions took it.
func (c *Channel[T]) Publish(value T) (int, error) {
	data, err := encodeValue(c.name, value)
	if err != nil {
		return 0, err
	}
	return c.node.Publish(c.name, data)
}

// Subscribe returns every value published from now on.
func (c *Channel[T]) Subscribe() (*TypedSubscription[T], error) {
	sub, err := c.node.SubscribeChannel(c.name)
	if err != nil {
		return nil, err
	}
	return &TypedSubscription[T]{inner: sub}, nil
}

// MeshChannel is a typed channel over the mesh. The publisher registers the
// channel (Mesh.RegisterChannel) with its rules first.
type MeshChannel[T any] struct {
	mesh *Mesh
	name string
}

// NewMeshChannel returns the typed channel name on mesh (ErrInvalidChannelName
// for a bad name).
func NewMeshChannel[T any](mesh *Mesh, name string) (*MeshChannel[T], error) {
	if err := CheckChannelName(name); err != nil {
		return nil, err
	}
	return &MeshChannel[T]{mesh: mesh, name: name}, nil
}

// Name is the channel's name.
func (c *MeshChannel[T]) Name() string { return c.name }

// Publish publishes value to every subscriber the channel's rules admit.
func (c *MeshChannel[T]) Publish(value T) (PublishReport, error) {
	data, err := encodeValue(c.name, value)
	if err != nil {
		return PublishReport{}, err
	}
	return c.mesh.Publish(c.name, data)
}

// Subscribe asks publisher for the channel, presenting chain (see
// Mesh.Subscribe).
func (c *MeshChannel[T]) Subscribe(ctx context.Context, publisher uint64, chain ...Token) (*TypedSubscription[T], error) {
	sub, err := c.mesh.Subscribe(ctx, publisher, c.name, chain...)
	if err != nil {
		return nil, err
	}
	return &TypedSubscription[T]{inner: sub}, nil
}
