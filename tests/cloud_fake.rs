//! A scripted fake AWS endpoint: a tiny HTTP/1.1 server on 127.0.0.1 speaking the real
//! awsJson1.1 protocol (`POST /` with `X-Amz-Target: CodeBuild_20161006.BatchGetBuilds`,
//! `Logs_20140328.GetLogEvents`, …). A test gives it a handler from (operation, JSON body) to
//! (status, JSON body); it counts every call so tests can assert how many were made.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A reply.
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Send only this many bytes of the body (the `Content-Length` still announces all of
    /// it), then close the connection: a truncated response.
    pub truncate_at: Option<usize>,
}

impl Reply {
    /// A reply with this status and body, sent as is (malformed JSON, HTML, anything).
    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            truncate_at: None,
        }
    }

    /// `v` as JSON, cut after `keep` bytes and the connection closed.
    #[allow(clippy::needless_pass_by_value)] // fixtures read better passing `json!(..)` directly
    pub fn truncated(v: Value, keep: usize) -> Self {
        Self {
            status: 200,
            body: v.to_string(),
            truncate_at: Some(keep),
        }
    }

    #[allow(clippy::needless_pass_by_value)] // fixtures read better passing `json!(..)` directly
    pub fn ok(v: Value) -> Self {
        Self {
            status: 200,
            body: v.to_string(),
            truncate_at: None,
        }
    }
    /// An AWS JSON error body, `{"__type": kind, "message": ...}`.
    pub fn error(status: u16, kind: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({"__type": kind, "message": message}).to_string(),
            truncate_at: None,
        }
    }
}

/// A request as the handler sees it.
pub struct Req {
    /// The operation (`BatchGetBuilds`).
    pub op: String,
    pub body: Value,
    /// The region from the `SigV4` credential scope.
    pub region: String,
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

/// The running fake.
pub struct FakeAws {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeAws {
    /// Starts the server on a free port, in the current tokio runtime.
    pub async fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let c = calls.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, handler.clone(), c.clone()));
            }
        });
        Self { addr, calls }
    }

    /// The endpoint URL (for `AWS_ENDPOINT_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far: (operation, body).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().expect("lock").clone()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: &str) -> usize {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|(o, _)| o == op)
            .count()
    }

    /// Clears the call log.
    pub fn reset_calls(&self) {
        self.calls.lock().expect("lock").clear();
    }
}

/// Serves one keep-alive connection.
async fn serve(sock: TcpStream, handler: Arc<Handler>, calls: Arc<Mutex<Vec<(String, Value)>>>) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut headers: HashMap<String, String> = HashMap::new();
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let target = headers.get("x-amz-target").cloned().unwrap_or_default();
        let op = target.rsplit('.').next().unwrap_or_default().to_owned();
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        calls
            .lock()
            .expect("lock")
            .push((op.clone(), value.clone()));
        let region = headers
            .get("authorization")
            .and_then(|a| a.split('/').nth(2))
            .unwrap_or_default()
            .to_owned();
        let reply = handler(&Req {
            op,
            body: value,
            region,
        });
        let reason = if reply.status == 200 { "OK" } else { "Error" };
        let sent = reply.truncate_at.map_or(reply.body.as_str(), |n| {
            &reply.body[..n.min(reply.body.len())]
        });
        let resp = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: {}\r\nContent-Length: {}\r\n\r\n{sent}",
            reply.status,
            uuid::Uuid::new_v4(),
            reply.body.len(),
        );
        if w.write_all(resp.as_bytes()).await.is_err() || reply.truncate_at.is_some() {
            return;
        }
    }
}

/// A phase object as BatchGetBuilds returns it.
pub fn phase(kind: &str, status: Option<&str>, start: f64, end: Option<f64>) -> Value {
    let mut p = json!({"phaseType": kind, "startTime": start});
    if let Some(s) = status {
        p["phaseStatus"] = json!(s);
    }
    if let Some(e) = end {
        p["endTime"] = json!(e);
        #[allow(clippy::cast_possible_truncation)]
        let d = (e - start) as i64;
        p["durationInSeconds"] = json!(d);
        p["contexts"] = json!([{"statusCode": "", "message": ""}]);
    }
    p
}

/// A build object shaped like the AWS docs' BatchGetBuilds example. `phases` are the
/// phase list; `status` the build status; a finished build gets an endTime.
#[allow(clippy::needless_pass_by_value)] // fixtures read better passing `vec![..]` directly
pub fn build(id: &str, status: &str, phases: Vec<Value>, log: Option<(&str, &str)>) -> Value {
    let project = id.split(':').next().unwrap_or_default();
    let current = phases
        .last()
        .and_then(|p| p["phaseType"].as_str())
        .unwrap_or("SUBMITTED");
    let (g, s) = log.unwrap_or(("null", "null"));
    let mut b = json!({
        "id": id,
        "arn": format!("arn:aws:codebuild:us-east-1:123456789012:build/{id}"),
        "buildNumber": 7,
        "startTime": 1_700_000_000.0,
        "currentPhase": current,
        "buildStatus": status,
        "buildComplete": status != "IN_PROGRESS",
        "projectName": project,
        "phases": phases,
        "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": [], "privilegedMode": false},
        "logs": {"groupName": g, "streamName": s,
            "deepLink": format!("https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group={g};stream={s}")},
    });
    if status != "IN_PROGRESS" {
        b["endTime"] = json!(1_700_000_060.0);
    }
    b
}
