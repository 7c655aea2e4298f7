package dev.switchboard.store;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;

/**
 * Works around vert-x3/vertx-jdbc-client#356 (present in 5.0.10, the newest jdbc-client we can
 * use): after COMMIT or ROLLBACK the client calls {@code setAutoCommit(false)} instead of restoring
 * auto-commit, so every later statement on that pooled connection silently joins a transaction that
 * nobody commits. This proxy turns exactly that call, the one that directly follows a commit or a
 * rollback, into {@code setAutoCommit(true)}. Remove it once a fixed jdbc-client can be used;
 * {@code AutoCommitAfterTransactionTest} shows whether it is still needed.
 */
final class AutoCommitGuard implements InvocationHandler {
  private final Connection target;
  private boolean justEnded;

  private AutoCommitGuard(Connection target) {
    this.target = target;
  }

  static Connection wrap(Connection c) {
    return (Connection) Proxy.newProxyInstance(AutoCommitGuard.class.getClassLoader(),
        new Class<?>[] {Connection.class}, new AutoCommitGuard(c));
  }

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    String name = method.getName();
    boolean noArgs = args == null || args.length == 0;
    try {
      if (name.equals("setAutoCommit") && justEnded && Boolean.FALSE.equals(args[0])) {
        justEnded = false;
        target.setAutoCommit(true);
        return null;
      }
      Object result = method.invoke(target, args);
      justEnded = noArgs && (name.equals("commit") || name.equals("rollback"));
      return result;
    } catch (InvocationTargetException e) {
      justEnded = false;
      throw e.getCause();
    }
  }
}
