"""The outbox of requests to carriers: booking requests, amendments and cancellations recorded
in the transaction of the change, sent later by the dispatcher (app/dispatch)."""
