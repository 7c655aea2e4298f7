package dev.switchboard.store;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Application-generated ids: UUID version 7 (48-bit millisecond time, then randomness). They sort by
 * creation time, need no database round trip and never collide across clustered gateways.
 */
public final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {
  }

  public static String next() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    long ms = System.currentTimeMillis();
    for (int i = 0; i < 6; i++) {
      b[i] = (byte) (ms >>> (40 - 8 * i));
    }
    b[6] = (byte) ((b[6] & 0x0f) | 0x70); // version 7
    b[8] = (byte) ((b[8] & 0x3f) | 0x80); // IETF variant
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 8; i++) {
      hi = (hi << 8) | (b[i] & 0xff);
      lo = (lo << 8) | (b[i + 8] & 0xff);
    }
    return new UUID(hi, lo).toString();
  }
}
