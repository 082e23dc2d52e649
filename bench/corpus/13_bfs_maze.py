# Shortest path through a text maze with breadth-first search (collections.deque).
from collections import deque

MAZE = """\
S.#.......
.##.####.#
....#....#
###.#.##.#
#...#..#..
#.###.##.#
#.....#..E"""
grid = MAZE.splitlines()
find = lambda ch: next((r, c) for r, row in enumerate(grid) for c, x in enumerate(row) if x == ch)
start, end = find("S"), find("E")
prev, queue = {start: None}, deque([start])
while queue:
    r, c = queue.popleft()
    if (r, c) == end:
        break
    for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
        if 0 <= nr < len(grid) and 0 <= nc < len(grid[0]) and grid[nr][nc] != "#" and (nr, nc) not in prev:
            prev[(nr, nc)] = (r, c)
            queue.append((nr, nc))
path, p = [], end
while p:
    path.append(p)
    p = prev[p]
rows = [list(row) for row in grid]
for r, c in path[1:-1]:
    rows[r][c] = "*"
print(len(path) - 1, "steps")
print("\n".join("".join(row) for row in rows))
