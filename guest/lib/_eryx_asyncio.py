"""asyncio over the host's network (issue 18): placeholder."""


def patch(asyncio):
    pass
