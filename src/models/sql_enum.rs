//! Enums stored as text columns: written as their name, read back through their parser.
//! A name the parser refuses is a broken row (the tables' CHECK constraints forbid it),
//! reported as a database error rather than guessed at.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::{MemberStatus, Role};

macro_rules! text_enum {
    ($ty:ty, $parse:expr) => {
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), &mut out.reborrow())
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let raw = <String as FromSql<Text, Pg>>::from_sql(value)?;
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&raw).ok_or_else(|| {
                    format!("unknown {} {raw:?} in the database", stringify!($ty)).into()
                })
            }
        }
    };
}

text_enum!(Role, |raw| Role::parse(raw).ok());
text_enum!(MemberStatus, MemberStatus::parse);
