//! ISO code lists used to validate input: currencies (ISO 4217) and jurisdictions (ISO 3166-1).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Active ISO 4217 alphabetic currency codes (funds and precious metals left out).
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP \
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF \
KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN \
NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD \
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND \
VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// ISO 3166-1 alpha-2 codes, plus `EU`, which ISO reserves for the European Union: several
/// figures are held or decided at Union level.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW EU";

/// The 27 member states of the European Union (ISO 3166-1 alpha-2).
pub const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $len:literal, $list:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Parses an upper-case code and checks it against the ISO list.
            pub fn parse(code: &str) -> Result<Self, UnknownCode> {
                let bytes = code.as_bytes();
                let known = bytes.len() == $len
                    && bytes.iter().all(u8::is_ascii_uppercase)
                    && $list.split_ascii_whitespace().any(|c| c == code);
                if !known {
                    return Err(UnknownCode { what: $what, code: code.to_owned() });
                }
                let mut out = [0u8; $len];
                out.copy_from_slice(bytes);
                Ok(Self(out))
            }

            pub fn as_str(&self) -> &str {
                // The bytes were checked to be ASCII upper-case letters in `parse`.
                std::str::from_utf8(&self.0).unwrap_or("??")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

code_type!(
    /// An ISO 4217 currency code such as `EUR`.
    Currency, 3, ISO_4217, "currency"
);
code_type!(
    /// An ISO 3166-1 alpha-2 jurisdiction code such as `BE`, or `EU` for the Union itself.
    Jurisdiction, 2, ISO_3166, "jurisdiction"
);

impl Jurisdiction {
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.contains(&self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} is not a known ISO {what} code")]
pub struct UnknownCode {
    pub what: &'static str,
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse_and_unknown_ones_do_not() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XXZ").is_err());
        assert!(Jurisdiction::parse("BE").unwrap().is_eu_member());
        assert!(!Jurisdiction::parse("GB").unwrap().is_eu_member());
        assert!(Jurisdiction::parse("UK").is_err());
    }
}
