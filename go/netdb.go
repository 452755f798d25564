package net

// NetDB: event-sourced tasks and memories with queries and snapshots.

/*
#include <stdlib.h>
#include <stdint.h>
#include "net.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Task is a task of the tasks model. The engine's JSON carries its 64-bit
// fields as decimal strings (exact in every language); the tags decode them.
type Task struct {
	ID        uint64 `json:"id,string"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	CreatedNs uint64 `json:"created_ns,string"`
	UpdatedNs uint64 `json:"updated_ns,string"`
}

// Memory is a memory of the memories model (tags sorted and unique).
type Memory struct {
	ID        uint64   `json:"id,string"`
	Content   string   `json:"content"`
	Tags      []string `json:"tags"`
	Source    string   `json:"source"`
	Pinned    bool     `json:"pinned"`
	CreatedNs uint64   `json:"created_ns,string"`
	UpdatedNs uint64   `json:"updated_ns,string"`
}

// TasksFilter selects tasks; zero values mean "any".
type TasksFilter struct {
	Status  string `json:"status,omitempty"`
	OrderBy string `json:"order_by,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// MemoriesFilter selects memories; zero values mean "any".
type MemoriesFilter struct {
	Tag     string   `json:"tag,omitempty"`
	AnyTags []string `json:"any_tags,omitempty"`
	AllTags []string `json:"all_tags,omitempty"`
	Pinned  *bool    `json:"pinned,omitempty"`
	Source  string   `json:"source,omitempty"`
	OrderBy string   `json:"order_by,omitempty"`
	Limit   int      `json:"limit,omitempty"`
}

// WriteToken is returned by every write; WaitForToken makes it visible to queries.
type WriteToken struct {
	Model string
	Seq   uint64
}

// NetDBOptions configures OpenNetDB. Dir empty = in memory.
type NetDBOptions struct {
	Dir        string `json:"dir,omitempty"`
	Origin     uint32 `json:"origin,omitempty"`
	NoTasks    bool   `json:"-"`
	NoMemories bool   `json:"-"`
}

// NetDB is an open database. Close it when done.
type NetDB struct {
	handle *C.net_netdb_t
	once   sync.Once
}

func optionsJSON(o NetDBOptions) string {
	m := map[string]any{"tasks": !o.NoTasks, "memories": !o.NoMemories, "origin": o.Origin}
	if o.Dir != "" {
		m["dir"] = o.Dir
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func newNetDB(f func(out **C.net_netdb_t) C.int32_t) (*NetDB, error) {
	var handle *C.net_netdb_t
	if err := cCall(func() C.int32_t { return f(&handle) }); err != nil {
		return nil, err
	}
	db := &NetDB{handle: handle}
	runtime.SetFinalizer(db, func(db *NetDB) { db.free() })
	return db, nil
}

// OpenNetDB opens a database (returning once any existing log is folded).
func OpenNetDB(o NetDBOptions) (*NetDB, error) {
	opts := optionsJSON(o)
	return newNetDB(func(out **C.net_netdb_t) C.int32_t {
		return C.net_netdb_open((*C.char)(unsafe.Pointer(unsafe.StringData(opts))), C.size_t(len(opts)), out)
	})
}

// RestoreNetDB opens a database from Snapshot bytes (from any language).
func RestoreNetDB(snapshot []byte, o NetDBOptions) (*NetDB, error) {
	opts := optionsJSON(o)
	return newNetDB(func(out **C.net_netdb_t) C.int32_t {
		return C.net_netdb_restore((*C.char)(unsafe.Pointer(unsafe.StringData(opts))), C.size_t(len(opts)),
			(*C.uint8_t)(unsafe.Pointer(bytesPtr(snapshot))), C.size_t(len(snapshot)), out)
	})
}

// Write applies a raw write (model "tasks"/"memories", op such as "create").
func (db *NetDB) Write(model, op string, args any) (WriteToken, error) {
	text, err := json.Marshal(args)
	if err != nil {
		return WriteToken{}, err
	}
	cm, co := C.CString(model), C.CString(op)
	defer C.free(unsafe.Pointer(cm))
	defer C.free(unsafe.Pointer(co))
	var seq C.uint64_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.net_netdb_write(db.handle, cm, co, bytesPtr(text), C.size_t(len(text)), &seq); rc < 0 {
		return WriteToken{}, lastError(rc)
	}
	return WriteToken{Model: model, Seq: uint64(seq)}, nil
}

// Read runs a raw query and decodes its JSON result into out.
func (db *NetDB) Read(model, op string, args, out any) error {
	text, err := json.Marshal(args)
	if err != nil {
		return err
	}
	cm, co := C.CString(model), C.CString(op)
	defer C.free(unsafe.Pointer(cm))
	defer C.free(unsafe.Pointer(co))
	var res *C.char
	runtime.LockOSThread()
	rc := C.net_netdb_read(db.handle, cm, co, bytesPtr(text), C.size_t(len(text)), &res, nil)
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return err
	}
	defer C.net_string_free(res)
	return json.Unmarshal([]byte(C.GoString(res)), out)
}

// WaitForToken blocks until the write is visible to queries, or until ctx
// ends (ctx.Err(); the engine's wait is woken by a cancel token).
func (db *NetDB) WaitForToken(ctx context.Context, t WriteToken) error {
	cm := C.CString(t.Model)
	defer C.free(unsafe.Pointer(cm))
	return withContext(ctx, func(token *C.net_cancel_t) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if rc := C.net_netdb_wait_cancellable(db.handle, cm, C.uint64_t(t.Seq), -1, token); rc < 0 {
			return lastError(rc)
		}
		return nil
	})
}

// Snapshot returns the whole database (consistent per model) as bytes.
func (db *NetDB) Snapshot() ([]byte, error) {
	var out *C.uint8_t
	var n C.size_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.net_netdb_snapshot(db.handle, &out, &n); rc < 0 {
		return nil, lastError(rc)
	}
	defer C.net_bytes_free(out, n)
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

// Close stops the folds, closes the logs and releases the database (idempotent).
func (db *NetDB) Close() error {
	var err error
	db.once.Do(func() {
		runtime.LockOSThread()
		if rc := C.net_netdb_close(db.handle); rc < 0 {
			err = lastError(rc)
		}
		runtime.UnlockOSThread()
		db.free()
	})
	return err
}

func (db *NetDB) free() {
	C.net_netdb_free(db.handle)
	runtime.SetFinalizer(db, nil)
}

// Tasks is the tasks model of a database.
func (db *NetDB) Tasks() TasksModel { return TasksModel{db} }

// Memories is the memories model of a database.
func (db *NetDB) Memories() MemoriesModel { return MemoriesModel{db} }

func now() uint64 { return uint64(time.Now().UnixNano()) }

// TasksModel writes and queries tasks.
type TasksModel struct{ db *NetDB }

// Create creates a task.
func (m TasksModel) Create(id uint64, title string) (WriteToken, error) {
	return m.db.Write("tasks", "create", map[string]any{"id": id, "title": title, "ts": now()})
}

// Rename renames a task.
func (m TasksModel) Rename(id uint64, title string) (WriteToken, error) {
	return m.db.Write("tasks", "rename", map[string]any{"id": id, "title": title, "ts": now()})
}

// Complete marks a task completed.
func (m TasksModel) Complete(id uint64) (WriteToken, error) {
	return m.db.Write("tasks", "complete", map[string]any{"id": id, "ts": now()})
}

// Delete deletes a task.
func (m TasksModel) Delete(id uint64) (WriteToken, error) {
	return m.db.Write("tasks", "delete", map[string]any{"id": id})
}

// FindUnique returns the task with this id, or nil.
func (m TasksModel) FindUnique(id uint64) (*Task, error) {
	var t *Task
	err := m.db.Read("tasks", "find_unique", map[string]any{"id": id}, &t)
	return t, err
}

// FindMany returns the tasks matching f.
func (m TasksModel) FindMany(f TasksFilter) ([]Task, error) {
	var out []Task
	err := m.db.Read("tasks", "find_many", f, &out)
	return out, err
}

// CountWhere counts the tasks matching f.
func (m TasksModel) CountWhere(f TasksFilter) (int, error) {
	var n int
	err := m.db.Read("tasks", "count_where", f, &n)
	return n, err
}

// MemoriesModel writes and queries memories.
type MemoriesModel struct{ db *NetDB }

// Store stores a memory.
func (m MemoriesModel) Store(id uint64, content string, tags []string, source string) (WriteToken, error) {
	return m.db.Write("memories", "store", map[string]any{"id": id, "content": content, "tags": tags, "source": source, "ts": now()})
}

// Retag replaces a memory's tags.
func (m MemoriesModel) Retag(id uint64, tags []string) (WriteToken, error) {
	return m.db.Write("memories", "retag", map[string]any{"id": id, "tags": tags, "ts": now()})
}

// Pin pins a memory.
func (m MemoriesModel) Pin(id uint64) (WriteToken, error) {
	return m.db.Write("memories", "pin", map[string]any{"id": id, "ts": now()})
}

// Unpin unpins a memory.
func (m MemoriesModel) Unpin(id uint64) (WriteToken, error) {
	return m.db.Write("memories", "unpin", map[string]any{"id": id, "ts": now()})
}

// Delete deletes a memory.
func (m MemoriesModel) Delete(id uint64) (WriteToken, error) {
	return m.db.Write("memories", "delete", map[string]any{"id": id})
}

// FindMany returns the memories matching f.
func (m MemoriesModel) FindMany(f MemoriesFilter) ([]Memory, error) {
	var out []Memory
	err := m.db.Read("memories", "find_many", f, &out)
	return out, err
}

// CountWhere counts the memories matching f.
func (m MemoriesModel) CountWhere(f MemoriesFilter) (int, error) {
	var n int
	err := m.db.Read("memories", "count_where", f, &n)
	return n, err
}
