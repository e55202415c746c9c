//! Both servers run out of file descriptors: `accept` fails with `EMFILE` while clients wait in
//! the listen backlog. The delay server and `http_server` (both flavours) must each back off (not
//! spin), keep serving the connections they have, serve the waiting clients once descriptors are
//! free, and still stop when asked.
//!
//! A test binary of its own, with no other tests in it: the open-file limit (`RLIMIT_NOFILE`) and
//! the CPU time the tests read are the whole process's, so a test of another file running beside
//! them would fail to open its sockets or be counted as a spinning accept loop. The two tests here
//! take turns: `survives_running_out_of_descriptors` holds a lock for the whole squeeze.

use taketurns::workload::http_server::Flavor;

mod server_faults_common;
use server_faults_common::{Subject, survives_running_out_of_descriptors};

#[test]
fn delay_server_backs_off_when_accept_runs_out_of_descriptors() {
    survives_running_out_of_descriptors(Subject::DelayServer);
}

#[test]
fn http_server_backs_off_when_accept_runs_out_of_descriptors() {
    for flavor in [Flavor::EventLoop, Flavor::ThreadPerConnection] {
        survives_running_out_of_descriptors(Subject::Http(flavor));
    }
}
