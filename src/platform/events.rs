//! The platform audit log as its pages and exports read it: filtered, in keyset pages,
//! and as CSV chunks that never hold the whole log in memory.

use futures_util::Stream;

use super::Platform;
use crate::db::Db;
use crate::error::AppResult;
use crate::models::platform_audit::{self, CSV_HEADER, EventFilter, EventRow};

/// Events per page.
pub const EVENTS_PER_PAGE: i64 = 50;
/// Rows per database round trip of an export.
const EXPORT_BATCH: i64 = 1000;

/// A page of events, newest first, and the id the next (older) page starts before.
pub async fn events_page(
    deps: &Platform<'_>,
    filter: EventFilter,
    before: Option<i64>,
) -> AppResult<(Vec<EventRow>, Option<i64>)> {
    let mut rows = deps
        .db
        .run(move |conn| platform_audit::page(conn, &filter, before, EVENTS_PER_PAGE + 1))
        .await?;
    let more = rows.len() as i64 > EVENTS_PER_PAGE;
    rows.truncate(EVENTS_PER_PAGE as usize);
    let older = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, older))
}

/// Every matching event as CSV, newest first: the header, then one chunk per batch of
/// rows read. A failure after the first chunk ends the download early (the response
/// has started); the caller's error shows in the log.
pub fn export_csv(db: Db, filter: EventFilter) -> impl Stream<Item = AppResult<String>> {
    enum At {
        Header,
        Before(Option<i64>),
        Done,
    }
    futures_util::stream::unfold(At::Header, move |at| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            match at {
                At::Header => Some((Ok(CSV_HEADER.to_string()), At::Before(None))),
                At::Done => None,
                At::Before(before) => {
                    let batch = db
                        .run(move |conn| platform_audit::page(conn, &filter, before, EXPORT_BATCH))
                        .await;
                    match batch {
                        Err(e) => Some((Err(e), At::Done)),
                        Ok(rows) if rows.is_empty() => None,
                        Ok(rows) => {
                            let next = if (rows.len() as i64) < EXPORT_BATCH {
                                At::Done
                            } else {
                                At::Before(rows.last().map(|r| r.id))
                            };
                            let chunk: String = rows.iter().map(EventRow::csv_line).collect();
                            Some((Ok(chunk), next))
                        }
                    }
                }
            }
        }
    })
}
