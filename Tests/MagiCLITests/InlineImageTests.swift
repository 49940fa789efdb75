import Foundation
import Testing
@testable import MagiCLI

/// Images the `python` tool saved, drawn by the protocol the terminal speaks, or only named.
@Suite struct InlineImageTests {
    @Test func theProtocolFollowsTheTerminal() {
        #expect(InlineImage.terminalProtocol(environment: ["KITTY_WINDOW_ID": "1", "TERM": "xterm-kitty"]) == .kitty)
        #expect(InlineImage.terminalProtocol(environment: ["TERM_PROGRAM": "ghostty"]) == .kitty)
        #expect(InlineImage.terminalProtocol(environment: ["TERM_PROGRAM": "iTerm.app"]) == .iTerm2)
        #expect(InlineImage.terminalProtocol(environment: ["LC_TERMINAL": "iTerm2"]) == .iTerm2)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "xterm-256color"]) == nil)
        // tmux and screen do not pass images on.
        #expect(InlineImage.terminalProtocol(environment: ["TERM_PROGRAM": "iTerm.app", "TMUX": "/tmp/tmux-0/default,1,0"]) == nil)
        #expect(InlineImage.terminalProtocol(environment: ["KITTY_WINDOW_ID": "1", "TERM": "screen-256color"]) == nil)
        // Sixel terminals; xterm only when told; MAGI_IMAGES overrides the guess.
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "foot"]) == .sixel)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "mlterm"]) == .sixel)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "xterm-256color", "MAGI_IMAGES": "sixel"]) == .sixel)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "foot", "MAGI_IMAGES": "none"]) == nil)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "foot", "MAGI_IMAGES": "kitty"]) == .kitty)
        #expect(InlineImage.terminalProtocol(environment: ["TERM": "xterm", "MAGI_IMAGES": "iTerm"]) == .iTerm2)
    }

    @Test func sequencesCarryTheWholeImage() throws {
        let image = Data((0..<5000).map { UInt8($0 % 251) })
        let base64 = image.base64EncodedString()
        let iTerm = try #require(InlineImage.sequence(for: image, protocol: .iTerm2))
        #expect(iTerm == "\u{1B}]1337;File=inline=1;size=5000;preserveAspectRatio=1:\(base64)\u{07}\n")
        // kitty: chunks of at most 4096 base64 bytes, m=1 on all but the last, a=T,f=100 on the first.
        let png = Data([0x89, 0x50, 0x4E, 0x47]) + image
        #expect(InlineImage.sequence(for: image, protocol: .kitty) == nil)  // kitty draws PNG only
        let kitty = try #require(InlineImage.sequence(for: png, protocol: .kitty))
        let chunks = kitty.dropLast().components(separatedBy: "\u{1B}\\").dropLast()
        #expect(chunks.count == 2)  // 5004 bytes: 6672 base64 bytes
        #expect(chunks[0].hasPrefix("\u{1B}_Ga=T,f=100,m=1;") && chunks[1].hasPrefix("\u{1B}_Gm=0;"))
        let payload = chunks.map { $0[$0.index(after: $0.firstIndex(of: ";")!)...] }.joined()
        #expect(payload == png.base64EncodedString() && Data(base64Encoded: payload) == png)
    }

    /// PNGs made by PIL (an independent encoder) decode to PIL's own pixels, and their sixel,
    /// decoded back by a small decoder here, matches them within the palette's error.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ToolCommandLineTests.venvPython) || ProcessInfo.processInfo.environment["CI"] != nil))
    func sixelDrawsThePNGWithinThePalettesError() throws {
        let folder = NSTemporaryDirectory() + "magi-sixel-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try TestProcess.run(ToolCommandLineTests.venvPython, ["-c", Self.makeImages, folder], deadline: .seconds(120))
        try #require(made.status == 0, "\(made.stderr)")
        func file(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)) }
        let (small, smallPixels, widePNG, huge) = (try file("small.png"), try file("small.rgba"), try file("wide.png"), try file("huge.png"))

        let decoded = try #require(RGBAImage(png: small))
        #expect(decoded.width == 40 && decoded.height == 30 && decoded.pixels == Array(smallPixels))
        let sixel = try #require(InlineImage.sequence(for: small, protocol: .sixel))
        #expect(sixel.hasPrefix("\u{1B}P0;1;0q") && sixel.hasSuffix("\u{1B}\\\n"))
        let picture = try SixelPicture(sixel)
        #expect(picture.width == 40 && picture.height == 30)
        // Each channel is within half a cube step (25.5) of a cube colour, so the nearest palette
        // colour is within √3 · 25.5 ≈ 44.2, plus the rounding to whole percents.
        var worst = 0.0, total = 0.0, opaque = 0
        for i in 0..<(40 * 30) {
            let pixel = Array(decoded.pixels[(i * 4)..<(i * 4 + 4)])
            guard pixel[3] >= 128 else {
                #expect(picture.pixels[i] == nil, "transparent pixel \(i) drawn")
                continue
            }
            let drawn = try #require(picture.pixels[i], "pixel \(i) not drawn")
            let distance = (0..<3).map { pow(Double(drawn[$0]) - Double(pixel[$0]), 2) }.reduce(0, +).squareRoot()
            worst = max(worst, distance)
            total += distance
            opaque += 1
        }
        #expect(opaque == 40 * 30 - 7 * 6)
        #expect(worst <= 46, "worst colour error \(worst)")
        #expect(total / Double(opaque) < 30, "mean colour error \(total / Double(opaque))")

        // A wide image is shrunk to 800 pixels, keeping its aspect ratio.
        let wide = try SixelPicture(try #require(InlineImage.sequence(for: widePNG, protocol: .sixel)))
        #expect(wide.width == 800 && wide.height == 40)
        #expect(wide.pixels.allSatisfy { $0 == [204, 51, 51] })  // the palette colour nearest (200, 30, 30)
        // Not a PNG, a truncated one, and one claiming 100000 × 100000 pixels: nothing drawn.
        #expect(InlineImage.sequence(for: Data("not a png".utf8), protocol: .sixel) == nil)
        #expect(InlineImage.sequence(for: small.prefix(100), protocol: .sixel) == nil)
        #expect(RGBAImage(png: huge) == nil)
    }

    /// In the REPL on a terminal told to draw sixel, a PNG the `python` tool writes arrives as a
    /// live sixel sequence (the only escape sequence outside text may not carry), then its name.
    @Test(.enabled(if: CommandLineTests.hasModel && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")))
    func theREPLDrawsAPlotAsSixel() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        var environment = REPLTerminalTests.environment(home: home)
        environment["MAGI_IMAGES"] = "sixel"
        let magi = try PseudoTerminal(executable: CommandLineTests.executable, arguments: ["--temp", "0", "-n", "8", "--tools", "python", "--yes"],
                                      environment: environment)
        try magi.expect(REPLTerminalTests.prompt)
        // A 2 × 2 red PNG, and a file name with an escape sequence in it.
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
        magi.send(#"/tool python {"code": "import base64\nopen('red\u001b[2J.png', 'wb').write(base64.b64decode('\#(png)'))"}"# + "\r")
        let screen = try magi.expect("magi: image saved as ") + (try magi.expect(REPLTerminalTests.prompt))
        // Red (255, 0, 0) is cube colour 5·36 = 180, 100 % red; two columns of the top two rows (bits 0 and 1: "B").
        #expect(screen.contains("\u{1B}P0;1;0q\"1;1;2;2#180;2;100;0;0#180BB-\u{1B}\\"), "\(screen.debugDescription)")
        // The name the code chose reaches the terminal with its escape sequence made visible.
        #expect(!screen.contains("\u{1B}[2J") && screen.contains("image: red^[[2J.png"))
        magi.send(REPLTerminalTests.ctrlD)
        #expect(try magi.waitForExit() == 0)
    }

    static let makeImages = """
        import struct, sys, zlib
        from PIL import Image
        out = sys.argv[1]
        im = Image.new('RGBA', (40, 30))
        px = im.load()
        for y in range(30):
            for x in range(40):
                alpha = 0 if 5 <= x < 12 and 3 <= y < 9 else 255 - (x + y) % 100
                px[x, y] = ((x * 37 + y * 11) % 256, (x * 5 + y * 23) % 256, (x * y * 3) % 256, alpha)
        im.save(out + '/small.png')
        open(out + '/small.rgba', 'wb').write(im.tobytes())
        Image.new('RGB', (2000, 100), (200, 30, 30)).save(out + '/wide.png')
        def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
        header = struct.pack('>IIBBBBB', 100000, 100000, 8, 6, 0, 0, 0)
        open(out + '/huge.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', header) + chunk(b'IEND', b''))
        """
}

/// A sixel image decoded independently of magi's encoder: raster attributes, colour definitions
/// (RGB in percent), colour selection, repeats, carriage returns and new bands.
struct SixelPicture {
    var width = 0, height = 0
    /// RGB (0…255) per pixel, nil where nothing was drawn.
    var pixels: [[Int]?] = []

    struct Malformed: Error, CustomStringConvertible { let description: String }

    init(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        guard bytes.starts(with: [0x1B, 0x50]) else { throw Malformed(description: "no DCS") }
        bytes = bytes.dropFirst(2)
        while let byte = bytes.first, byte != UInt8(ascii: "q") { bytes = bytes.dropFirst() }
        bytes = bytes.dropFirst()
        func numbers() -> [Int] {
            var values: [Int] = [], current: Int?
            while let byte = bytes.first, byte == UInt8(ascii: ";") || (48...57).contains(byte) {
                bytes = bytes.dropFirst()
                if byte == UInt8(ascii: ";") { values.append(current ?? 0); current = nil } else { current = (current ?? 0) * 10 + Int(byte - 48) }
            }
            if let current { values.append(current) }
            return values
        }
        var colours: [Int: [Int]] = [:]
        var colour = 0, x = 0, top = 0
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            switch byte {
            case UInt8(ascii: "\""):
                let raster = numbers()
                guard raster.count == 4 else { throw Malformed(description: "raster \(raster)") }
                (width, height) = (raster[2], raster[3])
                pixels = Array(repeating: nil, count: width * height)
            case UInt8(ascii: "#"):
                let values = numbers()
                colour = values[0]
                if values.count == 5 {
                    guard values[1] == 2 else { throw Malformed(description: "colour space \(values[1])") }
                    colours[colour] = values[2...].map { ($0 * 255 + 50) / 100 }
                }
            case UInt8(ascii: "$"): x = 0
            case UInt8(ascii: "-"): x = 0; top += 6
            case 0x1B: return
            default:
                var count = 1, sixel = byte
                if byte == UInt8(ascii: "!") {
                    count = numbers().first ?? 1
                    guard let next = bytes.first else { throw Malformed(description: "repeat at the end") }
                    sixel = next
                    bytes = bytes.dropFirst()
                }
                guard (63...126).contains(sixel) else { throw Malformed(description: "byte \(sixel)") }
                guard let rgb = colours[colour] else { throw Malformed(description: "colour \(colour) used undefined") }
                for _ in 0..<count {
                    for bit in 0..<6 where (sixel - 63) & (1 << bit) != 0 {
                        let y = top + bit
                        guard x < width && y < height else { throw Malformed(description: "pixel (\(x), \(y)) outside") }
                        pixels[y * width + x] = rgb
                    }
                    x += 1
                }
            }
        }
        throw Malformed(description: "no ST")
    }
}
