import Foundation
import MagiRender
import Testing

@Suite struct ColorModeTests {
    @Test func autoFollowsTheTerminalAndTheEnvironment() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(!ColorMode.auto.allowsColor(fileDescriptor: fds[1], environment: [:]), "a pipe is not a terminal")
        #expect(ColorMode.always.allowsColor(fileDescriptor: fds[1], environment: ["NO_COLOR": "1"]))
        #expect(!ColorMode.never.allowsColor(fileDescriptor: fds[1], environment: [:]))
        let tty = open("/dev/ptmx", O_RDWR)
        if tty >= 0 {
            defer { close(tty) }
            #expect(ColorMode.auto.allowsColor(fileDescriptor: tty, environment: ["TERM": "xterm"]))
            #expect(!ColorMode.auto.allowsColor(fileDescriptor: tty, environment: ["TERM": "xterm", "NO_COLOR": "1"]))
            #expect(!ColorMode.auto.allowsColor(fileDescriptor: tty, environment: ["TERM": "dumb"]))
            #expect(ColorMode.auto.allowsColor(fileDescriptor: tty, environment: ["NO_COLOR": ""]))
        }
    }
}
