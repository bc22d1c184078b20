//! Transcendental functions that give the same bits on every machine.
//!
//! The `f64` methods (`ln`, `exp`, `powf`, ...) call the platform's C library, and its answer is
//! not fixed: glibc picks one of several builds of `pow`, `exp` and `log` by processor feature
//! when the program loads (with fused multiply-add or without), and the builds disagree in the
//! last bit for some inputs; other C libraries use other code. A draw that comes out one bit
//! different can round to another nanosecond and change a run. Every function a result depends
//! on is therefore computed here, by portable code (`libm`, a port of the FreeBSD/musl library)
//! built from IEEE-754 arithmetic alone, which Rust never fuses or reorders. A clippy rule
//! (`clippy.toml`) keeps the `f64` methods out of the workspace.

/// Natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// e raised to `x`.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `x` raised to `y`.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Cosine of `x` radians.
#[inline]
pub fn cos(x: f64) -> f64 {
    libm::cos(x)
}

/// Arctangent of `x`, in radians.
#[inline]
pub fn atan(x: f64) -> f64 {
    libm::atan(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bits are part of the determinism contract: a change of implementation that moves any
    /// of them changes results, and must be a deliberate, announced change.
    #[test]
    fn results_are_pinned_to_the_bit() {
        let cases: [(&str, f64, u64); 6] = [
            ("ln 0.3", ln(0.3), 0xbff3_4378_fcbd_a721),
            ("ln 1e-300", ln(1e-300), 0xc085_9634_47f8_7fb5),
            ("exp -0.05", exp(-0.05), 0x3fee_7078_b0a7_26a6),
            ("pow 0.7^-0.05", pow(0.7, -0.05), 0x3ff0_49b3_c7e6_4434),
            ("cos 2", cos(2.0), 0xbfda_a226_5753_7205),
            ("atan 0.7", atan(0.7), 0x3fe3_8b11_2d7b_d4ad),
        ];
        for (name, value, bits) in cases {
            assert_eq!(value.to_bits(), bits, "{name} = {value:e}");
        }
    }
}
