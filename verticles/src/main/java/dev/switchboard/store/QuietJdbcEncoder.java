package dev.switchboard.store;

import io.vertx.jdbcclient.impl.actions.JDBCColumnDescriptor;
import io.vertx.jdbcclient.spi.JDBCEncoderImpl;

/**
 * The jdbc-client's parameter encoder without its debug line: 5.0.10 builds a debug message for
 * every parameter of every statement whether debug logging is on or not, which was about a twentieth
 * of the gateway's allocation under load. The encoding itself is the client's own.
 */
public final class QuietJdbcEncoder extends JDBCEncoderImpl {
  @Override
  public Object doEncode(JDBCColumnDescriptor descriptor, Object value) {
    if (value == null) {
      return null;
    }
    if (descriptor.jdbcTypeWrapper().isDateTimeType()) {
      return encodeDateTime(descriptor, value);
    }
    if (descriptor.jdbcTypeWrapper().isSpecificVendorType()) {
      return encodeSpecificVendorType(descriptor, value);
    }
    return encodeData(descriptor, value);
  }
}
