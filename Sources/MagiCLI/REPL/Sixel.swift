import CPNG
import Foundation

/// An image as 8-bit RGBA pixels, row by row.
struct RGBAImage: Equatable {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    /// The most pixels a PNG may have to be decoded (64 MB of RGBA); the pixels of a bigger one
    /// are never allocated.
    static let maxPixels = 4096 * 4096

    /// Decodes a PNG file's bytes with libpng; nil for anything that is not a readable PNG of at
    /// most ``maxPixels`` pixels.
    init?(png: Data) {
        var width: UInt32 = 0, height: UInt32 = 0
        let sized = png.withUnsafeBytes { magi_png_read_rgba($0.baseAddress, $0.count, UInt(Self.maxPixels), &width, &height, nil) }
        guard sized == 0 else { return nil }
        let count = Int(width) * Int(height) * 4
        var status: Int32 = -1
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = png.withUnsafeBytes {
                magi_png_read_rgba($0.baseAddress, $0.count, UInt(Self.maxPixels), &width, &height, buffer.baseAddress)
            }
            initialized = status == 0 ? count : 0
        }
        guard status == 0 else { return nil }
        self.init(width: Int(width), height: Int(height), pixels: pixels)
    }

    init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 4, "RGBA pixels must fill the image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The image shrunk (never enlarged) to fit `maxWidth` × `maxHeight`, keeping its aspect ratio;
    /// each new pixel is the one nearest its centre.
    func fitted(maxWidth: Int, maxHeight: Int) -> RGBAImage {
        let scale = min(1, Double(maxWidth) / Double(width), Double(maxHeight) / Double(height))
        guard scale < 1 else { return self }
        let newWidth = max(1, Int(Double(width) * scale)), newHeight = max(1, Int(Double(height) * scale))
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 4)
        for y in 0..<newHeight {
            let sourceY = min(height - 1, Int((Double(y) + 0.5) * Double(height) / Double(newHeight)))
            for x in 0..<newWidth {
                let sourceX = min(width - 1, Int((Double(x) + 0.5) * Double(width) / Double(newWidth)))
                let from = (sourceY * width + sourceX) * 4, to = (y * newWidth + x) * 4
                out[to..<(to + 4)] = pixels[from..<(from + 4)]
            }
        }
        return RGBAImage(width: newWidth, height: newHeight, pixels: out)
    }
}

/// DEC sixel graphics, for terminals that draw neither kitty's nor iTerm2's images (foot, mlterm,
/// xterm with sixel on): the image quantized to a fixed palette — the 6×6×6 colour cube and 24
/// greys — and written six rows at a time, one pass per colour, runs compressed.
enum Sixel {
    /// The palette: 216 cube colours (levels 0, 51, …, 255), then 24 greys between black and white.
    static let palette: [(UInt8, UInt8, UInt8)] = {
        var colours: [(UInt8, UInt8, UInt8)] = []
        for r in 0..<6 { for g in 0..<6 { for b in 0..<6 { colours.append((UInt8(r * 51), UInt8(g * 51), UInt8(b * 51))) } } }
        for i in 1...24 { let v = UInt8(i * 255 / 25); colours.append((v, v, v)) }
        return colours
    }()

    /// Pixels with less alpha are left undrawn (the terminal's background shows).
    static let opaqueAlpha: UInt8 = 128

    /// The palette index nearest to a colour: the nearest cube colour or the nearest grey.
    static func nearest(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        func level(_ v: UInt8) -> Int { (Int(v) + 25) / 51 }
        let cube = level(r) * 36 + level(g) * 6 + level(b)
        let mean = (Int(r) + Int(g) + Int(b)) / 3
        let grey = 216 + min(23, max(0, (mean * 25 + 127) / 255 - 1))
        func distance(_ index: Int) -> Int {
            let (pr, pg, pb) = palette[index]
            let dr = Int(r) - Int(pr), dg = Int(g) - Int(pg), db = Int(b) - Int(pb)
            return dr * dr + dg * dg + db * db
        }
        return distance(grey) < distance(cube) ? grey : cube
    }

    /// The DCS sequence that draws `image` (followed by a newline): `ESC P 0;1;0 q`, raster
    /// attributes, the colours it uses, then the sixel bands; `ESC \` ends it.
    static func sequence(for image: RGBAImage) -> String {
        let (width, height) = (image.width, image.height)
        // Palette index per pixel; -1 for a transparent one.
        var indices = [Int](repeating: -1, count: width * height)
        var used = Set<Int>()
        for i in 0..<(width * height) where image.pixels[i * 4 + 3] >= opaqueAlpha {
            let index = nearest(image.pixels[i * 4], image.pixels[i * 4 + 1], image.pixels[i * 4 + 2])
            indices[i] = index
            used.insert(index)
        }
        var out = "\u{1B}P0;1;0q\"1;1;\(width);\(height)"
        for index in used.sorted() {
            let (r, g, b) = palette[index]
            func percent(_ v: UInt8) -> Int { (Int(v) * 100 + 127) / 255 }
            out += "#\(index);2;\(percent(r));\(percent(g));\(percent(b))"
        }
        for top in stride(from: 0, to: height, by: 6) {
            // One row of sixel bits per colour in the band.
            var passes: [Int: [UInt8]] = [:]
            for y in top..<min(height, top + 6) {
                for x in 0..<width where indices[y * width + x] >= 0 {
                    passes[indices[y * width + x], default: [UInt8](repeating: 0, count: width)][x] |= 1 << UInt8(y - top)
                }
            }
            out += passes.keys.sorted().map { "#\($0)" + runs(passes[$0]!) }.joined(separator: "$") + "-"
        }
        return out + "\u{1B}\\\n"
    }

    /// One colour's pass over a band: a sixel character per column, repeats of four or more as
    /// `!COUNT` and the character; trailing empty columns dropped.
    private static func runs(_ band: [UInt8]) -> String {
        var out = ""
        var end = band.count
        while end > 0 && band[end - 1] == 0 { end -= 1 }
        var x = 0
        while x < end {
            var count = 1
            while x + count < end && band[x + count] == band[x] { count += 1 }
            let character = String(UnicodeScalar(63 + band[x]))
            out += count >= 4 ? "!\(count)" + character : String(repeating: character, count: count)
            x += count
        }
        return out
    }
}
