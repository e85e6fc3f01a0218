//! Group commit: many threads write at once; each caller's work is committed exactly when its
//! call succeeds, a failing caller's work is undone without touching the others in its group, and
//! everything acknowledged is on disk for a fresh connection.

use std::sync::Arc;

use accredit_server::db::Db;
use accredit_server::error::ServiceError;

#[test]
fn concurrent_writers_share_commits_and_a_failing_one_undoes_only_its_own_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    let db = Arc::new(Db::open(&path).unwrap());
    db.write(|c| {
        c.execute_batch("CREATE TABLE t (writer INTEGER, n INTEGER, PRIMARY KEY (writer, n))")?;
        Ok(())
    })
    .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0..200 {
                    let fail = n % 7 == 3;
                    let r = db.write(|c| {
                        c.execute("INSERT INTO t (writer, n) VALUES (?1, ?2)", [w, n])?;
                        if fail {
                            return Err(ServiceError::bad_request("refused on purpose"));
                        }
                        // Reads its own write inside the group's transaction.
                        let seen: i64 = c.query_row(
                            "SELECT count(*) FROM t WHERE writer = ?1 AND n = ?2",
                            [w, n],
                            |r| r.get(0),
                        )?;
                        Ok(seen)
                    });
                    match r {
                        Ok(seen) => {
                            assert_eq!(seen, 1);
                            acknowledged.push(n);
                        }
                        Err(e) => assert!(fail, "unexpected failure: {e}"),
                    }
                }
                (w, acknowledged)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let writes: usize = results.iter().map(|(_, a)| a.len()).sum::<usize>() + 1;
    let transactions = db.transactions();
    println!("{writes} acknowledged writes in {transactions} transactions");
    assert!(
        (transactions as usize) < writes,
        "concurrent writers were never grouped"
    );
    drop(db);
    let fresh = rusqlite::Connection::open(&path).unwrap();
    for (w, acknowledged) in results {
        let mut stored: Vec<i64> = fresh
            .prepare("SELECT n FROM t WHERE writer = ?1 ORDER BY n")
            .unwrap()
            .query_map([w], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        stored.sort();
        assert_eq!(stored, acknowledged, "writer {w}");
        assert_eq!(stored.len(), 200 - (0..200).filter(|n| n % 7 == 3).count());
    }
}
