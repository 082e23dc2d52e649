# An order state machine with enum: allowed transitions, history, Flag permissions.
from enum import Enum, Flag, auto

class State(Enum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

ALLOWED = {State.NEW: {State.PAID, State.CANCELLED}, State.PAID: {State.SHIPPED, State.CANCELLED},
           State.SHIPPED: {State.DELIVERED}, State.DELIVERED: set(), State.CANCELLED: set()}

class Perm(Flag):
    READ = auto()
    WRITE = auto()
    ADMIN = auto()

def run(events):
    state, history = State.NEW, [State.NEW.value]
    for e in events:
        target = State(e)
        if target not in ALLOWED[state]:
            history.append(f"!{e}")
            continue
        state = target
        history.append(state.value)
    return state, history

print(run(["paid", "delivered", "shipped", "delivered", "cancelled"]))
print(run(["cancelled", "paid"])[1])
p = Perm.READ | Perm.WRITE
print(p, Perm.WRITE in p, Perm.ADMIN in p, [m.name for m in Perm], State["PAID"].name)
