package dev.switchboard.support;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Everything logged while it is open, every logger at DEBUG and the gateway's own at TRACE, so a
 * test can check what must never be logged (secrets, pairing codes). {@link #close()} restores the
 * levels.
 */
public final class LogCapture implements AutoCloseable {
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Logger ours = (Logger) LoggerFactory.getLogger("dev.switchboard");
  private final Level rootBefore = root.getLevel();
  private final Level oursBefore = ours.getLevel();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  private LogCapture() {
    appender.start();
    root.addAppender(appender);
    root.setLevel(Level.DEBUG);
    ours.setLevel(Level.TRACE);
  }

  public static LogCapture start() {
    return new LogCapture();
  }

  /** Each event's formatted message, then the class and message of each throwable in its chain. */
  public List<String> lines() {
    List<ILoggingEvent> events;
    synchronized (appender) { // appends hold the appender's lock
      events = new ArrayList<>(appender.list);
    }
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : events) {
      out.add(e.getFormattedMessage());
      for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
        out.add(t.getClassName() + ": " + t.getMessage());
      }
    }
    return out;
  }

  @Override
  public void close() {
    root.detachAppender(appender);
    root.setLevel(rootBefore);
    ours.setLevel(oursBefore);
  }
}
