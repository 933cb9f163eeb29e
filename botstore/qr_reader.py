"""Reads the QR code in a PNG such as /wxa/getwxacodeunlimit draws: what the console's "scan" of a
code's image does. A reader for clean codes (botstore's own, or a lossless copy: any scale, any
quiet zone, upright), not a camera's: no perspective, rotation or blur, and no error
correction; a damaged code is refused (its error-correction codewords must match the data),
never misread. segno, which draws the codes, lends its tables (placement, masks, blocks)."""

import struct
import zlib

from segno import consts, encoder

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 4096 * 4096
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
# The format information's error levels, in FORMAT_INFO's order (segno's constants).
LEVELS = (consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_L, consts.ERROR_LEVEL_H, consts.ERROR_LEVEL_Q)
ALPHANUMERIC = consts.ALPHANUMERIC_CHARS.decode()


class Unreadable(ValueError):
    """No QR code could be read from the image; the message says why."""


# --- PNG ---------------------------------------------------------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def dark_pixels(png: bytes) -> list[list[bool]]:
    """The image's pixels, True where dark (below half brightness; transparent counts light)."""
    if not png.startswith(SIGNATURE):
        raise Unreadable("not a PNG image")
    header, palette, data, pos = b"", b"", bytearray(), len(SIGNATURE)
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            data += body
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise Unreadable("a PNG without its header")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if colour not in CHANNELS or depth not in (1, 2, 4, 8) or interlace:
        raise Unreadable("a PNG of a kind this reader doesn't take (16-bit or interlaced)")
    if not 0 < width * height <= MAX_PIXELS:
        raise Unreadable("an image too large for a code")
    channels = CHANNELS[colour]
    bits = channels * depth
    stride, step = (width * bits + 7) // 8, max(1, bits // 8)
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(bytes(data), (stride + 1) * height)
    except zlib.error:
        raise Unreadable("a PNG whose pixels don't inflate") from None
    if len(raw) < (stride + 1) * height:
        raise Unreadable("a PNG cut short")
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + _paeth(left, up, corner)) & 0xFF
        rows.append(_brightness(line, width, depth, colour, palette))
        previous = line
    return rows


def _brightness(
    line: bytearray, width: int, depth: int, colour: int, palette: bytes
) -> list[bool]:
    if depth < 8:  # greyscale or palette indexes, several to a byte
        per_byte, top = 8 // depth, (1 << depth) - 1
        samples = [
            (line[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & top for x in range(width)
        ]
    else:
        samples = list(line)
    dark = []
    for x in range(width):
        if colour == 3:
            index = samples[x] if depth < 8 else line[x]
            r, g, b = palette[index * 3 : index * 3 + 3] or b"\xff\xff\xff"
            level, most = (r + g + b) // 3, 255
        elif colour in (0, 4):
            channels = 1 if colour == 0 else 2
            level, most = samples[x * channels], (1 << depth) - 1
            if colour == 4 and samples[x * 2 + 1] < 128:
                level = most  # transparent: the paper shows
        else:
            channels = 3 if colour == 2 else 4
            r, g, b = line[x * channels : x * channels + 3]
            level, most = (r + g + b) // 3, 255
            if colour == 6 and line[x * 4 + 3] < 128:
                level = most
        dark.append(level * 2 < most)
    return dark


# --- the symbol ---------------------------------------------------------------------------------


def modules(pixels: list[list[bool]]) -> list[list[bool]]:
    """The code's modules, sampled at their centres: the top-left finder pattern's first row (7
    modules dark) gives the scale, the top-right one's end the size."""
    top = next((y for y, row in enumerate(pixels) if any(row)), None)
    if top is None:
        raise Unreadable("the image is blank")
    row = pixels[top]
    left = row.index(True)
    run = next((i for i, dark in enumerate(row[left:]) if not dark), len(row) - left)
    right = len(row) - 1 - row[::-1].index(True)
    scale = run / 7
    size = round((right - left + 1) / scale)
    if scale < 1 or (size - 17) % 4 or not 21 <= size <= 177:
        raise Unreadable("no QR code's finder patterns where a code's would be")
    if top + size * scale > len(pixels) + 0.5:
        raise Unreadable("the code runs off the image")
    return [
        [pixels[int(top + (r + 0.5) * scale)][int(left + (c + 0.5) * scale)] for c in range(size)]
        for r in range(size)
    ]


def _format(grid: list[list[bool]]) -> tuple[int, int]:
    """(error level, mask) from the format information beside the top-left finder."""
    bits = [grid[r][8] for r in (0, 1, 2, 3, 4, 5, 7, 8)]  # bits 0-7
    bits += [grid[8][c] for c in (7, 5, 4, 3, 2, 1, 0)]  # bits 8-14
    word = sum(bit << i for i, bit in enumerate(bits))
    distance, index = min(
        (bin(word ^ known).count("1"), i) for i, known in enumerate(consts.FORMAT_INFO)
    )
    if distance > 3:
        raise Unreadable("no valid format information")
    return LEVELS[index // 8], index % 8


def _codewords(grid: list[list[bool]], version: int, mask: int) -> bytes:
    """The symbol's codewords, read in placement order (segno's add_codewords), unmasked."""
    size = len(grid)
    function = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(function, size, size)
    encoder.add_alignment_patterns(function, size, size)
    function[-8][8] = 0x1  # the dark module
    unmask = encoder.get_data_mask_functions(False)[mask]
    bits = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in (0, 1):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (size - 1 - vertical) if upwards else vertical
                if function[i][j] == 0x2:
                    bits.append(grid[i][j] ^ unmask(i, j))
    return bytes(
        sum(bit << (7 - k) for k, bit in enumerate(bits[n : n + 8]))
        for n in range(0, len(bits) - 7, 8)
    )


def _data(codewords: bytes, version: int, level: int) -> bytes:
    """The data codewords, de-interleaved; refused unless every block's error-correction
    codewords are those of its data (an undamaged code)."""
    infos = consts.ECC[version][level]
    lengths = [(info.num_data, info.num_total - info.num_data) for info in infos]
    shapes = [
        shape
        for (blocks, shape) in zip((i.num_blocks for i in infos), lengths, strict=True)
        for _ in range(blocks)
    ]
    stream = iter(codewords)
    data_blocks: list[bytearray] = [bytearray() for _ in shapes]
    for k in range(max(d for d, _ in shapes)):
        for block, (count, _) in zip(data_blocks, shapes, strict=True):
            if k < count:
                block.append(next(stream))
    error_blocks: list[bytearray] = [bytearray() for _ in shapes]
    for k in range(max(e for _, e in shapes)):
        for block, (_, count) in zip(error_blocks, shapes, strict=True):
            if k < count:
                block.append(next(stream))
    data = b"".join(data_blocks)
    buffer = encoder.Buffer()
    for byte in data:
        buffer.append_bits(byte, 8)
    _, expected = encoder.make_blocks(infos, buffer)
    if [bytes(b) for b in expected] != [bytes(b) for b in error_blocks]:
        raise Unreadable("the code is damaged (this reader corrects no errors)")
    return data


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, count: int) -> int:
        if self.at + count > len(self.data) * 8:
            raise Unreadable("the code's data ends early")
        value = 0
        for _ in range(count):
            value = (value << 1) | (self.data[self.at // 8] >> (7 - self.at % 8)) & 1
            self.at += 1
        return value

    def left(self) -> int:
        return len(self.data) * 8 - self.at


def _text(data: bytes, version: int) -> str:
    """The segments' text: numeric, alphanumeric and byte (UTF-8, else ISO-8859-1) modes."""
    size = 0 if version <= 9 else 1 if version <= 26 else 2
    bits, out = _Bits(data), []
    while bits.left() >= 4:
        mode = bits.take(4)
        if mode == 0:
            break
        if mode == consts.MODE_NUMERIC:
            count = bits.take((10, 12, 14)[size])
            digits = ""
            while count >= 3:
                digits += f"{bits.take(10):03d}"
                count -= 3
            if count:
                digits += f"{bits.take(1 + 3 * count):0{count}d}"
            out.append(digits)
        elif mode == consts.MODE_ALPHANUMERIC:
            count = bits.take((9, 11, 13)[size])
            chars = ""
            while count >= 2:
                pair = bits.take(11)
                chars += ALPHANUMERIC[pair // 45] + ALPHANUMERIC[pair % 45]
                count -= 2
            if count:
                chars += ALPHANUMERIC[bits.take(6)]
            out.append(chars)
        elif mode == consts.MODE_BYTE:
            count = bits.take((8, 16, 16)[size])
            raw = bytes(bits.take(8) for _ in range(count))
            try:
                out.append(raw.decode())
            except UnicodeDecodeError:
                out.append(raw.decode("iso-8859-1"))
        else:
            raise Unreadable(f"a segment of a mode this reader doesn't take ({mode})")
    return "".join(out)


def read(png: bytes) -> str:
    """The text of the QR code in the PNG image."""
    grid = modules(dark_pixels(png))
    version = (len(grid) - 17) // 4
    level, mask = _format(grid)
    return _text(_data(_codewords(grid, version, mask), version, level), version)
