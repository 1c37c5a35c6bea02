//! `#[instrument_metrics]` on async code: `async fn`, methods in an instrumented `impl` block,
//! `async-trait` methods, futures dropped mid-await, and the concurrency gauge.

use std::sync::LazyLock;
use std::time::Duration;

use vitalsign::{Format, LabelValue, Registry, instrument_metrics};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

#[derive(Debug, LabelValue)]
enum StockError {
    OutOfStock,
}

#[instrument_metrics(registry = REGISTRY, concurrency, buckets = [0.05])]
async fn reserve(sku: &str, wait: Duration) -> Result<(), StockError> {
    tokio::time::sleep(wait).await;
    if sku == "none" {
        Err(StockError::OutOfStock)
    } else {
        Ok(())
    }
}

struct Shop;

#[instrument_metrics(registry = REGISTRY, buckets = [0.05])]
impl Shop {
    async fn ship(&self, n: u32) -> Result<u32, StockError> {
        if n == 0 {
            Err(StockError::OutOfStock)
        } else {
            Ok(n)
        }
    }

    fn count(&self) -> usize {
        3
    }

    #[instrument_metrics(name = "renamed")]
    fn old_name(&self) -> bool {
        true
    }

    #[instrument_metrics(skip)]
    #[allow(clippy::unused_self, reason = "a method's shape, as a user writes one")]
    fn not_counted(&self) -> u8 {
        1
    }
}

#[async_trait::async_trait]
trait Gateway {
    async fn authorize(&self, amount: u64) -> Result<u64, StockError>;
}

#[async_trait::async_trait]
impl Gateway for Shop {
    #[instrument_metrics(registry = REGISTRY, buckets = [0.05])]
    async fn authorize(&self, amount: u64) -> Result<u64, StockError> {
        if amount > 100 {
            Err(StockError::OutOfStock)
        } else {
            Ok(amount)
        }
    }
}

fn lines(text: &str, prefix: &str, function: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(prefix) && l.contains(&format!("function=\"{function}\"")))
        .map(|l| l.replace(",module=\"instrument_async\"", ""))
        .collect()
}

fn calls(text: &str, function: &str) -> Vec<String> {
    lines(text, "function_calls_total{", function)
}

#[tokio::test(flavor = "current_thread")]
async fn async_functions_methods_and_cancellation() {
    reserve("tea", Duration::ZERO).await.unwrap();
    assert!(reserve("none", Duration::ZERO).await.is_err());

    // A call dropped mid-await is `cancelled`, and the concurrency gauge comes back to zero.
    let slow = reserve("tea", Duration::from_secs(60));
    let timed_out = tokio::time::timeout(Duration::from_millis(20), slow).await;
    assert!(timed_out.is_err());

    let shop = Shop;
    assert_eq!(shop.ship(2).await.ok(), Some(2));
    assert!(shop.ship(0).await.is_err());
    assert_eq!(shop.count(), 3);
    assert!(shop.old_name());
    assert_eq!(shop.not_counted(), 1);
    assert_eq!(shop.authorize(5).await.ok(), Some(5));
    assert!(shop.authorize(500).await.is_err());

    let text = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        calls(&text, "reserve"),
        [
            "function_calls_total{function=\"reserve\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"reserve\",result=\"cancelled\",error=\"\"} 1",
            "function_calls_total{function=\"reserve\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"reserve\",result=\"error\",error=\"out_of_stock\"} 1",
        ]
    );
    assert_eq!(
        lines(&text, "function_calls_concurrent", "reserve"),
        ["function_calls_concurrent{function=\"reserve\"} 0"]
    );
    assert_eq!(
        lines(&text, "function_calls_duration_seconds_bucket", "reserve"),
        [
            // The cancelled call waited 20 ms, under the 50 ms bound.
            "function_calls_duration_seconds_bucket{function=\"reserve\",le=\"0.05\"} 3",
            "function_calls_duration_seconds_bucket{function=\"reserve\",le=\"+Inf\"} 3",
        ]
    );
    assert_eq!(
        calls(&text, "Shop::ship"),
        [
            "function_calls_total{function=\"Shop::ship\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"Shop::ship\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"Shop::ship\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"Shop::ship\",result=\"error\",error=\"out_of_stock\"} 1",
        ]
    );
    assert_eq!(
        calls(&text, "Shop::count"),
        [
            "function_calls_total{function=\"Shop::count\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"Shop::count\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"Shop::count\",result=\"error\",error=\"panic\"} 0",
        ]
    );
    assert_eq!(calls(&text, "renamed").len(), 3);
    assert_eq!(calls(&text, "Shop::not_counted").len(), 0);
    assert_eq!(
        calls(&text, "authorize"),
        [
            "function_calls_total{function=\"authorize\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"authorize\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"authorize\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"authorize\",result=\"error\",error=\"out_of_stock\"} 1",
        ]
    );
    let _ = StockError::OutOfStock.index();
}
