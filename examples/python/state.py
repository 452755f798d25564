"""Local state in Python: a RedEX log with a live tail, then NetDB tasks with
read-your-writes, a query and a snapshot restored into a second database.

Run: python examples/python/state.py
"""

from net_sdk import NetDb, Redex

# A raw log: append, read back, tail from a sequence.
with Redex() as rx:  # Redex("./data") persists the logs
    orders = rx.open_log("orders")
    orders.append(b"order 1")
    orders.append_batch([b"order 2", b"order 3"])
    for entry in orders.read_range():
        print(f"log #{entry.seq}: {entry.payload.decode()}")
    with orders.tail(2) as tail:
        live = tail.next_batch(10, timeout=1.0)
        print(f"tail from #2 sees {len(live or [])} entry")

# NetDB: writes return tokens; waiting on one gives read-your-writes.
with NetDb(memories=False) as db:
    db.tasks.create(1, "write plan")
    db.tasks.create(2, "ship it")
    db.tasks.wait_for_token(db.tasks.complete(1))
    print("pending:", [t.title for t in db.tasks.find_many(status="pending")])

    # A snapshot is bytes; any language restores it.
    snapshot = db.snapshot()
    with NetDb.restore(snapshot, memories=False) as copy:
        print(f"restored {copy.tasks.count_where()} tasks from {len(snapshot)} bytes")
