package dev.switchboard.workspace;

import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import org.slf4j.Logger;

/**
 * Failure codes used in event-bus replies between workspace components, and the one place that
 * turns an exception into a failed reply. Callers map them to their interface's error shape.
 */
public final class BusFailure {
  public static final int BAD_REQUEST = 400;
  public static final int FORBIDDEN = 403;
  public static final int NOT_FOUND = 404;
  public static final int CONFLICT = 409;
  public static final int BUSY = 429;
  public static final int INTERNAL = 500;
  public static final int UNAVAILABLE = 503;

  private BusFailure() {
  }

  /** A failure that carries a bus failure code (thrown by handlers, mapped by {@link #reply}). */
  public static final class Coded extends RuntimeException {
    private final int code;

    public Coded(int code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public int code() {
      return code;
    }
  }

  public static Coded badRequest(String message) {
    return new Coded(BAD_REQUEST, message);
  }

  public static Coded notFound(String message) {
    return new Coded(NOT_FOUND, message);
  }

  /** Fails {@code message} with the code carried by {@code error}, logging unexpected errors. */
  public static void reply(Message<?> message, Throwable error, Logger log) {
    if (error instanceof Coded c) {
      message.fail(c.code(), c.getMessage());
    } else if (error instanceof ReplyException r) {
      message.fail(r.failureCode() > 0 ? r.failureCode() : UNAVAILABLE, r.getMessage());
    } else {
      log.error("failed handling {}", message.address(), error);
      message.fail(INTERNAL, "internal error");
    }
  }

  /** The code of a failed request's cause: the replier's code, 503 for timeouts and missing handlers. */
  public static int codeOf(Throwable error) {
    if (error instanceof ReplyException r) {
      return switch (r.failureType()) {
        case RECIPIENT_FAILURE -> r.failureCode();
        case TIMEOUT, NO_HANDLERS, ERROR -> UNAVAILABLE;
      };
    }
    if (error instanceof Coded c) {
      return c.code();
    }
    return INTERNAL;
  }
}
