//! Products and CAL versions (`reference/rds-facts.md` §2.6).

use core::fmt;

/// An RDS CAL version, named by the Windows Server release year (2016, 2019, 2022, 2025, ...).
///
/// [§2.6] "you can use later versions of RDS CALs to access earlier versions": a CAL of version `v` serves a
/// session host of version `h` when `h <= v`. A newtype with constants, so an unknown future version still decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalVersion(pub u16);

impl CalVersion {
    /// Windows Server 2016 RDS CAL.
    pub const WS2016: Self = Self(2016);
    /// Windows Server 2019 RDS CAL.
    pub const WS2019: Self = Self(2019);
    /// Windows Server 2022 RDS CAL.
    pub const WS2022: Self = Self(2022);
    /// Windows Server 2025 RDS CAL.
    pub const WS2025: Self = Self(2025);

    /// True when a CAL of this version may license a session host of version `host`.
    pub fn serves(self, host: CalVersion) -> bool {
        host <= self
    }

    /// Product name as RD Licensing Manager shows it.
    pub fn product_name(self) -> String {
        format!("Windows Server {} - RDS CAL", self.0)
    }
}

impl fmt::Display for CalVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl core::str::FromStr for CalVersion {
    type Err = core::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_cal_serves_earlier_host_not_the_reverse() {
        assert!(CalVersion::WS2022.serves(CalVersion::WS2019));
        assert!(CalVersion::WS2022.serves(CalVersion::WS2022));
        assert!(!CalVersion::WS2019.serves(CalVersion::WS2022));
    }
}
