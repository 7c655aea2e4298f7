package dev.switchboard.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds what an unauthenticated socket can make the server hold. The WebSocket decoder accepts
 * frames up to {@code maxPayloadBytes} (25 MiB by default, what authenticated OpenClaw clients may
 * send in one frame) and buffers a frame whole before anyone sees it, so without this a socket that
 * never authenticates could pin 25 MiB until its handshake timeout. This counts the raw bytes that
 * arrive before {@code connect} succeeds and, past the pre-auth allowance, drops them and tells the
 * connection to close with 1009. It sits in front of the decoder and is removed once the client is
 * authenticated, so it costs nothing afterwards.
 *
 * <p>Vert.x has no per-connection frame limit, so this reaches the Netty pipeline through Vert.x's
 * internal connection class (pinned with the whole stack at 5.0.10). Where that is not possible the
 * guard is absent and the per-message pre-auth check in {@link ClientConnection} still applies.
 */
final class PreAuthByteLimit extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(PreAuthByteLimit.class);
  private static final String NAME = "switchboard-pre-auth-limit";

  private final long allowance;
  private final Runnable onExceeded;
  private ChannelPipeline pipeline;
  private long received;
  private boolean exceeded;

  private PreAuthByteLimit(long allowance, Runnable onExceeded) {
    this.allowance = allowance;
    this.onExceeded = onExceeded;
  }

  /**
   * Installs the guard on the channel of {@code connection} (the upgraded HTTP connection of the
   * socket); {@code onExceeded} runs once, on Netty's event loop inside the pipeline, when more than
   * {@code allowance} bytes arrived (it should hand the work to a Vert.x context). Returns the
   * guard, or null where it cannot be installed.
   */
  static PreAuthByteLimit install(HttpConnection connection, long allowance, Runnable onExceeded) {
    if (!(connection instanceof io.vertx.core.net.impl.ConnectionBase impl)) {
      LOG.debug("pre-auth byte limit not installed: unexpected connection type {}",
          connection == null ? null : connection.getClass().getName());
      return null;
    }
    try {
      ChannelPipeline p = impl.channel().pipeline();
      PreAuthByteLimit guard = new PreAuthByteLimit(allowance, onExceeded);
      ChannelHandlerContext decoder = p.context(WebSocketFrameDecoder.class);
      if (decoder != null) {
        p.addBefore(decoder.name(), NAME, guard);
      } else {
        p.addFirst(NAME, guard);
      }
      guard.pipeline = p;
      return guard;
    } catch (RuntimeException e) {
      LOG.debug("pre-auth byte limit not installed: {}", e.toString());
      return null;
    }
  }

  /** The client authenticated: bytes flow unchecked from now on. */
  void remove() {
    pipeline.channel().eventLoop().execute(() -> {
      if (pipeline.get(NAME) == this) {
        pipeline.remove(this);
      }
    });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf buf) {
      if (exceeded) {
        ReferenceCountUtil.release(msg);
        return;
      }
      received += buf.readableBytes();
      if (received > allowance) {
        exceeded = true;
        ReferenceCountUtil.release(msg);
        onExceeded.run();
        return;
      }
    }
    ctx.fireChannelRead(msg);
  }
}
