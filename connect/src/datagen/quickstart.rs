//! ksql-datagen's quickstart data sets, shared by `brook datagen` and the `datagen` connector:
//! random records shaped like the quickstart schemas of ksqlDB's examples (`pageviews`, `users`,
//! `orders`, `ratings`, `clickstream`), with the same field names, types and kinds of values.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

use crate::data::{Schema, SchemaType};

/// The quickstart data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    /// `viewtime`, `userid`, `pageid`.
    Pageviews,
    /// `registertime`, `userid`, `regionid`, `gender`.
    Users,
    /// `ordertime`, `orderid`, `itemid`, `orderunits`, `address`.
    Orders,
    /// `rating_id`, `user_id`, `stars`, `route_id`, `rating_time`, `channel`, `message`.
    Ratings,
    /// Web server log lines.
    Clickstream,
}

impl std::str::FromStr for Quickstart {
    type Err = String;

    /// The data set named `s` (any case).
    fn from_str(s: &str) -> Result<Quickstart, String> {
        Quickstart::ALL
            .into_iter()
            .find(|q| q.root().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown quickstart {s:?} (one of: pageviews, users, orders, ratings, clickstream)"))
    }
}

impl Quickstart {
    /// Every data set.
    pub const ALL: [Quickstart; 5] = [Quickstart::Pageviews, Quickstart::Users, Quickstart::Orders, Quickstart::Ratings, Quickstart::Clickstream];

    /// The data set's name: `pageviews`, `users`, ...
    pub fn root(self) -> &'static str {
        match self {
            Quickstart::Pageviews => "pageviews",
            Quickstart::Users => "users",
            Quickstart::Orders => "orders",
            Quickstart::Ratings => "ratings",
            Quickstart::Clickstream => "clickstream",
        }
    }

    /// The field the key is taken from (ksql-datagen's).
    pub fn key_field(self) -> &'static str {
        match self {
            Quickstart::Pageviews => "viewtime",
            Quickstart::Users => "userid",
            Quickstart::Orders => "orderid",
            Quickstart::Ratings => "rating_id",
            Quickstart::Clickstream => "ip",
        }
    }

    /// The Connect schema of a record's value (`ksql.<name>`, as the quickstarts' Avro schemas
    /// are named), the fields in [`Generator::next_fields`]'s order.
    pub fn value_schema(self) -> Schema {
        let s = Schema::string;
        let i32_ = || Schema::of(SchemaType::Int32);
        let i64_ = || Schema::of(SchemaType::Int64);
        let fields: Vec<(&str, Schema)> = match self {
            Quickstart::Pageviews => vec![("viewtime", i64_()), ("userid", s()), ("pageid", s())],
            Quickstart::Users => vec![("registertime", i64_()), ("userid", s()), ("regionid", s()), ("gender", s())],
            Quickstart::Orders => vec![
                ("ordertime", i64_()),
                ("orderid", i32_()),
                ("itemid", s()),
                ("orderunits", Schema::of(SchemaType::Float64)),
                ("address", Schema::structure([("city", s()), ("state", s()), ("zipcode", i64_())]).named("ksql.address")),
            ],
            Quickstart::Ratings => vec![
                ("rating_id", i64_()),
                ("user_id", i32_()),
                ("stars", i32_()),
                ("route_id", i32_()),
                ("rating_time", i64_()),
                ("channel", s()),
                ("message", s()),
            ],
            Quickstart::Clickstream => vec![
                ("ip", s()),
                ("userid", i32_()),
                ("remote_user", s()),
                ("time", s()),
                ("_time", i64_()),
                ("request", s()),
                ("status", s()),
                ("bytes", s()),
                ("referrer", s()),
                ("agent", s()),
            ],
        };
        Schema::structure(fields).named(format!("ksql.{}", self.root()))
    }
}

const RATING_MESSAGES: &[&str] = &[
    "thank you for the most friendly, helpful experience today at your new lounge",
    "more peanuts please",
    "why is it so difficult to keep the bathrooms clean ?",
    "Surprisingly good, maybe you are getting your mojo back at long last!",
    "is this as good as it gets? really ?",
    "meh",
    "airport refurb looks great, will fly outta here more!",
    "your team here rocks!",
    "Exceeded all my expectations. Thank you !",
    "(expletive deleted)",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.104 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
];
const REQUESTS: &[&str] = &[
    "GET /index.html HTTP/1.1",
    "GET /site/user_status.html HTTP/1.1",
    "GET /site/login.html HTTP/1.1",
    "GET /site/user_status.html HTTP/1.1",
    "GET /images/track.png HTTP/1.1",
    "GET /images/logo-small.png HTTP/1.1",
];

/// Generates one quickstart's records; `n` is the iteration (fields that count up use it).
#[derive(Debug)]
pub struct Generator {
    quickstart: Quickstart,
    rng: StdRng,
    n: u64,
}

impl Generator {
    /// A generator with a random seed, or `seed`.
    #[must_use]
    pub fn new(quickstart: Quickstart, seed: Option<u64>) -> Self {
        let rng = seed.map_or_else(StdRng::from_entropy, StdRng::seed_from_u64);
        Generator { quickstart, rng, n: 0 }
    }

    /// The data set.
    pub fn quickstart(&self) -> Quickstart {
        self.quickstart
    }

    /// Continues at iteration `n` (a restarted connector resumes its count: `orderid`,
    /// `viewtime` and `rating_id` go on from there).
    pub fn skip_to(&mut self, n: u64) {
        self.n = n;
    }

    /// The iteration the next record is.
    pub fn iteration(&self) -> u64 {
        self.n
    }

    /// The next record's fields, in the schema's order.
    pub fn next_fields(&mut self) -> Vec<(&'static str, Json)> {
        let n = self.n;
        self.n += 1;
        let now = brook_common::now_ms();
        let r = &mut self.rng;
        match self.quickstart {
            Quickstart::Pageviews => vec![
                ("viewtime", json!(1 + n * 10)),
                ("userid", json!(format!("User_{}", r.gen_range(1..=9)))),
                ("pageid", json!(format!("Page_{}", r.gen_range(1..=99)))),
            ],
            Quickstart::Users => vec![
                ("registertime", json!(r.gen_range(1_487_715_775_521i64..=1_519_273_364_600))),
                ("userid", json!(format!("User_{}", r.gen_range(1..=9)))),
                ("regionid", json!(format!("Region_{}", r.gen_range(1..=9)))),
                ("gender", json!(["MALE", "FEMALE", "OTHER"][r.gen_range(0..3)])),
            ],
            Quickstart::Orders => vec![
                ("ordertime", json!(r.gen_range(1_487_715_775_521i64..=1_519_273_364_600))),
                ("orderid", json!(n)),
                ("itemid", json!(format!("Item_{}", r.gen_range(1..=999)))),
                ("orderunits", json!((r.gen_range(0.1..10.0f64) * 1e4).round() / 1e4)),
                (
                    "address",
                    json!({
                        "city": format!("City_{}", r.gen_range(1..=99)),
                        "state": format!("State_{}", r.gen_range(1..=99)),
                        "zipcode": r.gen_range(10_000..=99_999),
                    }),
                ),
            ],
            Quickstart::Ratings => {
                let stars = r.gen_range(1..=5);
                let channel = ["iOS", "iOS-test", "android", "web"][r.gen_range(0..4)];
                vec![
                    ("rating_id", json!(n + 1)),
                    ("user_id", json!(r.gen_range(1..=20))),
                    ("stars", json!(stars)),
                    ("route_id", json!(r.gen_range(1..=9999))),
                    ("rating_time", json!(now)),
                    ("channel", json!(channel)),
                    ("message", json!(RATING_MESSAGES[r.gen_range(0..RATING_MESSAGES.len())])),
                ]
            }
            Quickstart::Clickstream => {
                let ip = format!("{}.{}.{}.{}", r.gen_range(1..=222), r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254));
                let userid = r.gen_range(1..=36);
                let status = ["200", "302", "404", "405", "406", "407"][r.gen_range(0..6)];
                let bytes = ["278", "1289", "2048", "4096", "4006", "4196", "14096"][r.gen_range(0..7)];
                let time = chrono::DateTime::from_timestamp_millis(now).map_or_else(String::new, |t| t.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
                let request = REQUESTS[r.gen_range(0..REQUESTS.len())];
                let agent = AGENTS[r.gen_range(0..AGENTS.len())];
                vec![
                    ("ip", json!(ip)),
                    ("userid", json!(userid)),
                    ("remote_user", json!("-")),
                    ("time", json!(time)),
                    ("_time", json!(now)),
                    ("request", json!(request)),
                    ("status", json!(status)),
                    ("bytes", json!(bytes)),
                    ("referrer", json!("-")),
                    ("agent", json!(agent)),
                ]
            }
        }
    }
}
