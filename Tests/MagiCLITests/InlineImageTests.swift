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
    }

    @Test func sequencesCarryTheWholeImage() throws {
        let image = Data((0..<5000).map { UInt8($0 % 251) })
        let base64 = image.base64EncodedString()
        let iTerm = InlineImage.sequence(for: image, protocol: .iTerm2)
        #expect(iTerm == "\u{1B}]1337;File=inline=1;size=5000;preserveAspectRatio=1:\(base64)\u{07}\n")
        // kitty: chunks of at most 4096 base64 bytes, m=1 on all but the last, a=T,f=100 on the first.
        let kitty = InlineImage.sequence(for: image, protocol: .kitty)
        let chunks = kitty.dropLast().components(separatedBy: "\u{1B}\\").dropLast()
        #expect(chunks.count == 2)
        #expect(chunks[0].hasPrefix("\u{1B}_Ga=T,f=100,m=1;") && chunks[1].hasPrefix("\u{1B}_Gm=0;"))
        let payload = chunks.map { $0[$0.index(after: $0.firstIndex(of: ";")!)...] }.joined()
        #expect(payload == base64 && Data(base64Encoded: payload) == image)
    }
}
