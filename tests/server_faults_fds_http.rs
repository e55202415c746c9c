//! `http_server`, both flavours, runs out of file descriptors: `accept` fails with `EMFILE`
//! while clients wait in the listen backlog. Each must back off (not spin), keep serving the
//! connections it has, serve the waiting clients once descriptors are free, and still stop when
//! asked.
//!
//! Alone in its own test binary, one flavour after the other: the open-file limit is the whole
//! process's, so any other test running meanwhile would fail to open its own sockets.

use taketurns::workload::http_server::Flavor;

mod server_faults_common;
use server_faults_common::{Subject, survives_running_out_of_descriptors};

#[test]
fn http_server_backs_off_when_accept_runs_out_of_descriptors() {
    for flavor in [Flavor::EventLoop, Flavor::ThreadPerConnection] {
        survives_running_out_of_descriptors(Subject::Http(flavor));
    }
}
