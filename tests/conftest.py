"""Test order for the suite's two processes (`-n 2 --dist worksteal`).

Modules that hold a slow test run first, each module still in one piece
(its module-scoped fixtures are built once), then the rest in their usual
order. The two processes then end together on short tests, instead of one
of them finishing a minute-long test alone at the end.
"""


def pytest_collection_modifyitems(items):
  slow_modules = {item.module.__name__ for item in items
                  if item.get_closest_marker("slow") is not None}
  order = {id(item): i for i, item in enumerate(items)}
  items.sort(key=lambda item: (item.module.__name__ not in slow_modules,
                               order[id(item)]))
