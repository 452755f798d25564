package net

// Watched NetDB queries: the current result, then each changed result.

/*
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"io"
	"runtime"
	"sync"
	"unsafe"
)

// rawWatch holds the C watch; the generic Watch decodes its JSON results.
type rawWatch struct {
	handle *C.net_watch_t
	mu     sync.Mutex
	once   sync.Once
}

func (db *NetDB) watch(model string, filter any) (*rawWatch, error) {
	text, err := json.Marshal(filter)
	if err != nil {
		return nil, err
	}
	cm := C.CString(model)
	defer C.free(unsafe.Pointer(cm))
	var handle *C.net_watch_t
	runtime.LockOSThread()
	rc := C.net_netdb_watch(db.handle, cm, bytesPtr(text), C.size_t(len(text)), &handle)
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return nil, err
	}
	w := &rawWatch{handle: handle}
	runtime.SetFinalizer(w, func(w *rawWatch) { w.close() })
	return w, nil
}

// next waits for the next JSON result, or until ctx ends (ctx.Err(); the
// engine's wait is woken by a cancel token).
func (w *rawWatch) next(ctx context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var text string
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		for {
			var out *C.char
			var rc C.int32_t
			err := cCall(func() C.int32_t {
				rc = C.net_watch_next_cancellable(w.handle, -1, token, &out, nil)
				return rc
			})
			switch {
			case err != nil:
				return err
			case rc == C.NET_DONE:
				return io.EOF
			case out != nil:
				text = C.GoString(out)
				C.net_string_free(out)
				return nil
			}
		}
	})
	return text, err
}

func (w *rawWatch) close() {
	w.once.Do(func() {
		C.net_watch_close(w.handle)
		w.mu.Lock()
		C.net_watch_free(w.handle)
		w.mu.Unlock()
		runtime.SetFinalizer(w, nil)
	})
}

// Watch is a watched query over records of type T.
type Watch[T any] struct {
	raw *rawWatch
}

// Next returns the current result on the first call, then each changed
// result; io.EOF once the watch or the database is closed; ctx.Err() if ctx
// ends first.
func (w *Watch[T]) Next(ctx context.Context) ([]T, error) {
	text, err := w.raw.next(ctx)
	if err != nil {
		return nil, err
	}
	var out []T
	err = json.Unmarshal([]byte(text), &out)
	return out, err
}

// Close ends the watch (idempotent); a blocked Next returns io.EOF.
func (w *Watch[T]) Close() error {
	w.raw.close()
	return nil
}

// Watch watches FindMany(f).
func (m TasksModel) Watch(f TasksFilter) (*Watch[Task], error) {
	raw, err := m.db.watch("tasks", f)
	if err != nil {
		return nil, err
	}
	return &Watch[Task]{raw}, nil
}

// Watch watches FindMany(f).
func (m MemoriesModel) Watch(f MemoriesFilter) (*Watch[Memory], error) {
	raw, err := m.db.watch("memories", f)
	if err != nil {
		return nil, err
	}
	return &Watch[Memory]{raw}, nil
}
