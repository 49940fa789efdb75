import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// HTTP/1 as Hummingbird serves it, with a deadline on each request's headers: from the request's
/// first byte until its head is complete. Hummingbird's idle timeout restarts at every complete
/// request part, so it cannot tell a connection resting between keep-alive requests from one
/// sending its headers a byte at a time (Slowloris); with this each has its own limit.
struct HeaderTimedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    let headerTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // Both handlers live on the connection's event loop, as does the deadline they share.
            let deadline = NIOLoopBound(HeaderDeadline(timeout: headerTimeout), eventLoop: channel.eventLoop)
            try channel.pipeline.syncOperations.addHandler(RequestBytesHandler(deadline: deadline.value), position: .first)
            var withHeads = configuration
            let others = configuration.additionalChannelHandlers
            withHeads.additionalChannelHandlers = { others() + [RequestHeadHandler(deadline: deadline.value)] }
            return HTTP1Channel(responder: responder, configuration: withHeads).setup(channel: channel, logger: logger)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder, configuration: configuration).handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with `configuration` (its idle timeout among it) and a `headerTimeout` on each request's headers.
    static func http1(configuration: HTTP1Channel.Configuration, headerTimeout: TimeAmount) -> HTTPServerBuilder {
        .init { responder in HeaderTimedHTTP1Channel(responder: responder, configuration: configuration, headerTimeout: headerTimeout) }
    }
}

/// One connection's header deadline: set when a request's first byte arrives while no request is
/// open, cleared when its head is complete; when it passes, the connection is closed.
final class HeaderDeadline {
    let timeout: TimeAmount
    /// Requests whose head came and whose response has not ended.
    private var openRequests = 0
    private var closing: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func bytesArrived(on channel: any Channel) {
        guard openRequests == 0, closing == nil else { return }
        closing = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func headArrived() {
        openRequests += 1
        cancel()
    }

    func responseEnded() { openRequests = max(0, openRequests - 1) }

    func cancel() {
        closing?.cancel()
        closing = nil
    }
}

/// First in the pipeline: sees every byte a client sends.
final class RequestBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let deadline: HeaderDeadline

    init(deadline: HeaderDeadline) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).readableBytes > 0 { deadline.bytesArrived(on: context.channel) }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline.cancel() }
}

/// After the HTTP decoder: sees each request's head complete and each response end.
final class RequestHeadHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private let deadline: HeaderDeadline

    init(deadline: HeaderDeadline) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { deadline.headArrived() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { deadline.responseEnded() }
        context.write(data, promise: promise)
    }
}
