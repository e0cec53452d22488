// Unit tests of the QR path builder: runs merge into rectangles and the quiet zone offsets.
import { describe, expect, it } from "vitest";
import { matrixPath, qrShape } from "./qr";

describe("QR codes", () => {
  it("draws each run of dark modules as one rectangle", () => {
    const m = [
      [true, true, false],
      [false, true, true],
    ];
    expect(matrixPath(m)).toBe("M0 0h2v1h-2zM1 1h2v1h-2z");
    expect(matrixPath(m, 4)).toBe("M4 4h2v1h-2zM5 5h2v1h-2z");
    expect(matrixPath([[false, false]])).toBe("");
  });
  it("encodes an otpauth URI with a quiet zone", () => {
    const shape = qrShape("otpauth://totp/Hexcovery:a%40b.test?secret=JBSWY3DPEHPK3PXP&issuer=Hexcovery");
    // A version-n code has 17 + 4n modules; plus 4 on each side.
    expect((shape.size - 8 - 17) % 4).toBe(0);
    // The top-left finder pattern starts at the quiet zone's corner with a 7-module run.
    expect(shape.path.startsWith("M4 4h7v1h-7z")).toBe(true);
  });
});
