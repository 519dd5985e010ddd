//! The Dapr sidecar simulator of the API tests (`tests/api/dapr_sim.rs`) as
//! a process, for the browser tests: it prints its ports as one JSON line,
//! takes app instances at `POST /simulator/apps` (the URL as the body), and
//! runs until killed. A simulator, for tests only: not Dapr.

// The tests use the rest of the simulator (what it recorded); this process only serves.
#[allow(dead_code)]
#[path = "../tests/api/dapr_sim.rs"]
mod dapr_sim;

#[tokio::main]
async fn main() {
    let sim = dapr_sim::DaprSim::start(dapr_sim::SimConfig::default()).await;
    sim.set_ready(true);
    println!("{}", serde_json::json!({ "grpc_port": sim.grpc_port, "http_port": sim.http_port }));
    std::future::pending::<()>().await;
}
