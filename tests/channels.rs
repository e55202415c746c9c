//! futures' channels between tasks: a waiting receiver parks in the waiting list (reason "other")
//! and the sender's wake moves it back, with no help from the reactor.

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use taketurns::{Runtime, WaitReason};

#[test]
fn mpsc_carries_every_message_in_order_between_tasks() {
    let rt = Runtime::new().unwrap();
    let received = rt.block_on(async {
        let (mut tx, mut rx) = mpsc::channel::<u32>(4);
        let producer = taketurns::spawn(async move {
            for i in 0..1000 {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = taketurns::spawn(async move {
            let mut got = Vec::new();
            while let Some(i) = rx.next().await {
                got.push(i);
            }
            got
        });
        producer.await.unwrap();
        consumer.await.unwrap()
    });
    assert_eq!(received, (0..1000).collect::<Vec<_>>());
    let stats = rt.stats();
    // A bounded channel of 4 makes the two tasks take turns: many parks and wakes, no sleeps.
    assert!(stats.local_wakes > 100, "{stats}");
    assert_eq!(stats.io_polls, 0, "channels need no epoll: {stats}");
}

#[test]
fn oneshot_receiver_waits_in_the_waiting_list_until_sent() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<&str>();
        let receiver = taketurns::spawn(rx);
        taketurns::yield_now().await;
        let snapshot = rt.snapshot();
        assert_eq!(snapshot.waiting, [(receiver.id(), WaitReason::Other)]);
        tx.send("here").unwrap();
        assert_eq!(receiver.await.unwrap(), Ok("here"));
    });
}

#[test]
fn oneshot_sent_from_another_thread_wakes_the_loop() {
    let rt = Runtime::new().unwrap();
    let value = rt.block_on(async {
        let (tx, rx) = oneshot::channel::<u64>();
        let sender = std::thread::spawn(move || tx.send(42).unwrap());
        let value = rx.await.unwrap();
        sender.join().unwrap();
        value
    });
    assert_eq!(value, 42);
}
