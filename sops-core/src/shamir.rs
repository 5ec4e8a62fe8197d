//! Shamir secret sharing over GF(2^8), share-compatible with sops' `shamir` package.
//!
//! Written from the mathematics: the field is GF(2^8) with the AES polynomial
//! x^8 + x^4 + x^3 + x + 1; each secret byte is the constant term of a random polynomial of
//! degree `threshold - 1`, evaluated at x = 1..=parts. A share is the y values followed by its
//! x coordinate as the **last** byte (sops' layout, checked against shares sops wrote).

use zeroize::{Zeroize, Zeroizing};

/// Splitting or combining failed.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// `2 <= threshold <= parts <= 255` does not hold, or the secret is empty.
    #[error(
        "invalid Shamir parameters: {parts} parts with threshold {threshold} (need 2 <= threshold <= parts <= 255)"
    )]
    BadParameters {
        /// Number of shares asked for.
        parts: usize,
        /// Shares needed to recover.
        threshold: usize,
    },
    /// Fewer than two shares, or shares of different or too short lengths.
    #[error("cannot combine {0} share(s): need at least two shares of equal length")]
    NotEnoughShares(usize),
    /// Two shares have the same x coordinate.
    #[error("duplicate part detected")]
    DuplicateShare,
}

/// Multiplication in GF(2^8), constant time over the bits of `b`.
fn mul(a: u8, b: u8) -> u8 {
    let mut acc: u8 = 0;
    for i in (0..8).rev() {
        let carry = (acc >> 7) & 1;
        acc = (acc << 1) ^ (carry.wrapping_neg() & 0x1b);
        acc ^= ((b >> i) & 1).wrapping_neg() & a;
    }
    acc
}

/// Multiplicative inverse: a^254 (0 maps to 0).
fn inv(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

/// Evaluates the polynomial with coefficients `coeffs` (constant first) at `x` (Horner).
fn eval(coeffs: &[u8], x: u8) -> u8 {
    coeffs.iter().rev().fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Splits `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    split_with(secret, parts, threshold, &mut |buf| {
        getrandom::getrandom(buf).expect("the operating system's random generator failed")
    })
}

fn split_with(
    secret: &[u8],
    parts: usize,
    threshold: usize,
    fill: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if threshold < 2 || parts < threshold || parts > 255 || secret.is_empty() {
        return Err(ShamirError::BadParameters { parts, threshold });
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (1..=parts)
        .map(|x| {
            let mut s = Zeroizing::new(vec![0u8; secret.len() + 1]);
            s[secret.len()] = x as u8;
            s
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold]);
    for (i, &byte) in secret.iter().enumerate() {
        coeffs[0] = byte;
        fill(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            share[i] = eval(&coeffs, x);
        }
    }
    coeffs.zeroize();
    Ok(shares)
}

/// Recovers the secret from shares (Lagrange interpolation at 0 using every share given).
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if shares.len() < 2 {
        return Err(ShamirError::NotEnoughShares(shares.len()));
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(ShamirError::NotEnoughShares(shares.len()));
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, a) in xs.iter().enumerate() {
        if xs[i + 1..].contains(a) {
            return Err(ShamirError::DuplicateShare);
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (i, byte) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (j, share) in shares.iter().enumerate() {
            // Lagrange basis l_j(0) = prod_{m != j} x_m / (x_m - x_j); subtraction is XOR.
            let mut basis = 1u8;
            for (m, &xm) in xs.iter().enumerate() {
                if m != j {
                    basis = mul(basis, mul(xm, inv(xm ^ xs[j])));
                }
            }
            acc ^= mul(share[i], basis);
        }
        *byte = acc;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector from the format reference (§7.3): secret 42 00 ff, degree-1 coefficients 07 99 01.
    #[test]
    fn reference_vector() {
        let coeffs = [0x07u8, 0x99, 0x01];
        let mut next = coeffs.iter();
        let shares = split_with(&[0x42, 0x00, 0xff], 3, 2, &mut |buf| {
            buf[0] = *next.next().unwrap();
        })
        .unwrap();
        let hexes: Vec<String> = shares.iter().map(|s| hex::encode(&s[..])).collect();
        assert_eq!(hexes, ["4599fe01", "4c29fd02", "4bb0fc03"]);
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let got = combine(&[&shares[pair[0]], &shares[pair[1]]]).unwrap();
            assert_eq!(&got[..], &[0x42, 0x00, 0xff]);
        }
    }

    #[test]
    fn random_split_combines_with_any_threshold_subset() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 5, 3).unwrap();
        let pick = [&shares[4][..], &shares[0][..], &shares[2][..]];
        assert_eq!(&combine(&pick).unwrap()[..], &secret[..]);
        // Below the threshold the result is (overwhelmingly likely) not the secret.
        assert_ne!(&combine(&pick[..2]).unwrap()[..], &secret[..]);
    }

    #[test]
    fn field_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(split(b"x", 2, 1).is_err());
        assert!(split(b"x", 2, 3).is_err());
        assert!(combine(&[b"ab"]).is_err());
        assert_eq!(
            combine(&[b"a\x01", b"b\x01"]),
            Err(ShamirError::DuplicateShare)
        );
    }
}
