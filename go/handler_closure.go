package net

// The C closures behind Handler: each carries a cgo.Handle (an integer),
// never a Go pointer, and calls the functions handler.go exports.

/*
#include <stdint.h>
#include "net.h"

int32_t netGoOnEvent(net_event_t *event, void *ref);
int32_t netGoOnMessage(net_mesh_message_t *message, void *ref);
int32_t netGoOnChannelMessage(net_channel_message_t *message, void *ref);
void netGoDropHandler(void *ref);

static inline net_event_closure_t net_go_event_closure(uintptr_t ref) {
	net_event_closure_t c = {(void *)ref, (int32_t (*)(const net_event_t *, void *))netGoOnEvent, netGoDropHandler};
	return c;
}

static inline net_message_closure_t net_go_message_closure(uintptr_t ref) {
	net_message_closure_t c = {(void *)ref, (int32_t (*)(const net_mesh_message_t *, void *))netGoOnMessage, netGoDropHandler};
	return c;
}

static inline net_channel_message_closure_t net_go_channel_closure(uintptr_t ref) {
	net_channel_message_closure_t c = {(void *)ref, (int32_t (*)(const net_channel_message_t *, void *))netGoOnChannelMessage, netGoDropHandler};
	return c;
}
*/
import "C"

func eventClosure(ref C.uintptr_t) C.net_event_closure_t { return C.net_go_event_closure(ref) }

func messageClosure(ref C.uintptr_t) C.net_message_closure_t { return C.net_go_message_closure(ref) }

func channelClosure(ref C.uintptr_t) C.net_channel_message_closure_t {
	return C.net_go_channel_closure(ref)
}
