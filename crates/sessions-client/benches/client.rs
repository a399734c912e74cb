//! Client overhead against a bare reqwest POST doing the same decode work.
//!
//! A raw hyper server on 127.0.0.1:0 answers every request with one canned 1000-session
//! `admin.users.session.list` page. Measured in the same run:
//! 1. baseline: reqwest POST (same headers and body) + read body + `serde_json::from_slice`
//!    into `ListResponse`;
//! 2. `Client::admin_users_session_list` (validate, encode, envelope + payload decode).
//!
//! After criterion's groups, an interleaved timing loop prints the ratio.
//! Run: `cargo bench -p sessions-client --bench client`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, Criterion};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sessions_client::{Client, ListRequest, ListResponse};

const SESSIONS: usize = 1000;

fn canned_page() -> Bytes {
    let sessions: Vec<serde_json::Value> = (0..SESSIONS)
        .map(|i| {
            serde_json::json!({
                "user_id": format!("W{:08}", i % 97),
                "team_id": "T0ENGINEER",
                "session_id": 9_000_000 + i,
                "created": {"device_hardware": "MacBookPro18,3", "os": "Mac OS X",
                            "os_version": "14.1.2", "slack_client_version": "4.35.131",
                            "ip": format!("10.1.{}.{}", i / 250, i % 250)},
                "recent": {"device_hardware": "MacBookPro18,3", "os": "Mac OS X",
                           "os_version": "14.1.2", "slack_client_version": "4.36.140",
                           "ip": format!("10.2.{}.{}", i / 250, i % 250)}
            })
        })
        .collect();
    let body = serde_json::json!({
        "ok": true,
        "active_sessions": sessions,
        "response_metadata": {"next_cursor": "dXNlcjpXMDAwMDAwOTk="}
    });
    Bytes::from(serde_json::to_vec(&body).unwrap())
}

async fn serve(page: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let page = page.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    let page = page.clone();
                    async move {
                        let resp = hyper::Response::builder()
                            .header("content-type", "application/json; charset=utf-8")
                            .body(Full::new(page))
                            .unwrap();
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

struct Setup {
    rt: tokio::runtime::Runtime,
    url: String,
    bare: reqwest::Client,
    client: Client,
}

const FORM: &str = "team_id=T0ENGINEER&user_id=W00000001&limit=1000";

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let page = canned_page();
    eprintln!("canned page: {} sessions, {} bytes", SESSIONS, page.len());
    let addr = rt.block_on(serve(page));
    let base = format!("http://{addr}/api");
    let client = Client::builder("xoxp-bench-token")
        .base_url(&base)
        .build()
        .unwrap();
    Setup {
        rt,
        url: format!("{base}/admin.users.session.list"),
        bare: reqwest::Client::new(),
        client,
    }
}

async fn bare_once(bare: &reqwest::Client, url: &str) -> ListResponse {
    let resp = bare
        .post(url)
        .header("authorization", "Bearer xoxp-bench-token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(FORM)
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn client_once(client: &Client) -> ListResponse {
    client
        .admin_users_session_list(ListRequest::user("T0ENGINEER", "W00000001").limit(1000))
        .await
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let s = setup();
    // Sanity: both paths decode the same page.
    let (a, b) = s.rt.block_on(async {
        (
            bare_once(&s.bare, &s.url).await,
            client_once(&s.client).await,
        )
    });
    assert_eq!(a, b);
    assert_eq!(a.active_sessions.len(), SESSIONS);

    let mut g = c.benchmark_group("list_1000_sessions");
    g.bench_function("bare_reqwest_plus_decode", |bch| {
        bch.to_async(&s.rt).iter(|| bare_once(&s.bare, &s.url))
    });
    g.bench_function("client_admin_users_session_list", |bch| {
        bch.to_async(&s.rt).iter(|| client_once(&s.client))
    });
    g.finish();

    // Interleaved rounds so drift (other load on the 2 cores) hits both equally; the median
    // of per-round ratios resists the odd disturbed round.
    const ROUNDS: usize = 40;
    const PER_ROUND: usize = 20;
    let (mut bare_t, mut client_t) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(ROUNDS);
    s.rt.block_on(async {
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                std::hint::black_box(bare_once(&s.bare, &s.url).await);
            }
            let b = t.elapsed();
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                std::hint::black_box(client_once(&s.client).await);
            }
            let c = t.elapsed();
            bare_t += b;
            client_t += c;
            ratios.push(c.as_secs_f64() / b.as_secs_f64());
        }
    });
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ROUNDS / 2];
    let n = (ROUNDS * PER_ROUND) as u32;
    let (b, c) = (bare_t / n, client_t / n);
    println!("timing loop ({n} calls each): bare reqwest+decode {b:?}/call, client {c:?}/call");
    println!(
        "client/baseline ratio: mean {:.3}, median of {ROUNDS} rounds {median:.3}",
        c.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "client overhead: {:+.1}% over bare reqwest (median)",
        (median - 1.0) * 100.0
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! { name = benches; config = config(); targets = bench }

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
