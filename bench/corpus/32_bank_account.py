# A small bank model with classes and custom exceptions.
class InsufficientFunds(Exception):
    def __init__(self, account, amount):
        super().__init__(f"{account.owner}: cannot withdraw {amount}, balance {account.balance}")

class Account:
    _next = 1000

    def __init__(self, owner, balance=0):
        self.owner, self.balance, self.log = owner, balance, []
        self.number = Account._next
        Account._next += 1

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.log.append(("dep", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise InsufficientFunds(self, amount)
        self.balance -= amount
        self.log.append(("wd", amount))

    def __repr__(self):
        return f"Account({self.number}, {self.owner!r}, {self.balance})"

class Savings(Account):
    rate = 0.02

    def add_interest(self):
        self.deposit(round(self.balance * self.rate, 2))

a, s = Account("ann", 100), Savings("bob", 1000)
for op in [lambda: a.withdraw(30), lambda: a.withdraw(500), lambda: s.add_interest(), lambda: a.deposit(-5)]:
    try:
        op()
    except (InsufficientFunds, ValueError) as e:
        print(type(e).__name__, e)
print(a, s, a.log, s.log, isinstance(s, Account))
