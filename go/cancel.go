package net

// Cancellation: a blocking call whose context can end runs with a native
// cancel token (net_cancel_t) that the context's end cancels, so the engine
// wakes at once instead of being polled in slices.

/*
#include "net.h"
*/
import "C"

import (
	"context"
	"errors"
)

// withContext runs call with a native cancel token cancelled when ctx ends
// (nil when ctx can never end). A call cancelled that way returns ctx.Err().
func withContext(ctx context.Context, call func(token *C.net_cancel_t) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil {
		return call(nil)
	}
	var token *C.net_cancel_t
	if rc := C.net_cancel_new(&token); rc < 0 {
		return errorFor(int(rc), "cannot create a cancel token")
	}
	// If the context ends while the token is being freed, the late cancel
	// finds a freed (generational) handle and does nothing.
	stop := context.AfterFunc(ctx, func() { _ = C.net_cancel_cancel(token) })
	err := call(token)
	stop()
	C.net_cancel_free(token)
	if errors.Is(err, ErrCancelled) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
	}
	return err
}
