# guest/packages/pillow/smoke.py (guest/packages/build.sh pillow --eryx BIN): an
# image drawn, written as PNG (zlib: the interpreter's) to /tmp, read back. Ends with OK.
import PIL
from PIL import Image, ImageDraw
im = Image.new("RGB", (64, 32), "white")
ImageDraw.Draw(im).rectangle((8, 8, 40, 24), fill=(200, 30, 30))
im.save("/tmp/p.png")
back = Image.open("/tmp/p.png")
back.load()
print("Pillow", PIL.__version__, back.format, back.size, back.getpixel((10, 10)), back.getpixel((0, 0)))
assert back.size == (64, 32) and back.getpixel((10, 10)) == (200, 30, 30)
assert open("/tmp/p.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
print("OK")
