# Runtime nodes (HM_ROLE=runtime): they host the actors and hold every shard between them, serve only
# /v1/health and /metrics, and are not published to users. SIGTERM hands every shard off (committed and acknowledged) and exits 0,
# so a stop or a rolling update loses nothing and replays nothing.
job "heatmap-runtime" {
  type = "service"

  update {
    max_parallel      = 1
    canary            = 1
    auto_promote      = true
    auto_revert       = true
    min_healthy_time  = "30s"
    healthy_deadline  = "5m"
    progress_deadline = "10m"
    # Each replaced node drains before the next one goes: shards move about S/N at a time.
    stagger = "30s"
  }

  group "runtime" {
    count = 3

    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-runtime"
      port     = "http"
      # The Prometheus scrape (nomad_sd_configs) keeps services tagged "metrics" and reads /metrics.
      tags = ["metrics"]

      check {
        type     = "http"
        path     = "/v1/health"
        interval = "10s"
        timeout  = "3s"
      }
    }

    # Nomad Autoscaler (horizontal application scaling): CPU from Nomad's own metrics, and the node's
    # mailbox depth (messages pulled from JetStream and not yet applied) from Prometheus. A deep mailbox
    # on every node means the cluster pulls slower than SDKs send: add nodes; the shards rebalance.
    scaling {
      enabled = true
      min     = 3
      max     = 12

      policy {
        evaluation_interval = "30s"
        cooldown            = "3m"

        check "cpu" {
          source = "nomad-apm"
          query  = "avg_cpu-allocated"

          strategy "target-value" {
            target = 70
          }
        }

        check "mailbox_depth" {
          source = "prometheus"
          query  = "avg(hm_runtime_mailbox_depth{service=\"heatmap-runtime\"})"

          strategy "target-value" {
            target = 1000
          }
        }
      }
    }

    task "node" {
      driver = "docker"

      config {
        image = "heatmap/platform:0.1.0"
        ports = ["http"]
      }

      # SIGTERM starts the drain; the task is killed only after kill_timeout. It must outlast the hand-off
      # of every shard plus a lease (HM_LEASE_MS), or the next owner waits for the lease and replays.
      # Nomad caps it at the client's max_kill_timeout (30s by default): set that to 60s or more.
      kill_signal  = "SIGTERM"
      kill_timeout = "45s"

      env {
        HM_HOST              = "0.0.0.0"
        HM_PORT              = "8080"
        HM_DATA_DIR          = "/alloc/data"
        HM_NODE_ID           = "runtime-${NOMAD_ALLOC_ID}"
        HM_THREADS           = "2"
        HM_SHARDS            = "64"
        HM_LEASE_MS          = "10000"
        HM_FLUSH_INTERVAL_MS = "1000"
        HM_NATS_STREAM       = "HM_EVENTS"
        HM_CLUSTER           = "hm"
        HM_ROLE              = "runtime"
        HM_NATS_REPLICAS     = "3"
        HM_DEMO              = "false"
        HM_DEMO_TRAFFIC      = "false"
        HM_LOG_LEVEL         = "info"
      }

      # Store addresses from Nomad service discovery; secrets from the Nomad variable nomad/jobs (see
      # deploy/README.md), rendered into the task's secrets dir, never into the job.
      template {
        destination = "secrets/hm.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
        HM_NATS_URL={{ range $i, $s := nomadService "heatmap-nats" }}{{ if $i }},{{ end }}nats://{{ $s.Address }}:{{ $s.Port }}{{ end }}
        {{- range nomadService "heatmap-clickhouse" }}
        HM_CLICKHOUSE_URL=http://{{ .Address }}:{{ .Port }}
        {{- end }}
        {{- with nomadVar "nomad/jobs" }}{{ $v := . }}
        HM_CLICKHOUSE_USER=heatmap
        HM_CLICKHOUSE_PASSWORD={{ .clickhouse_password }}
        {{- range nomadService "heatmap-postgres" }}
        HM_DATABASE_URL=postgres://heatmap:{{ $v.postgres_password }}@{{ .Address }}:{{ .Port }}/heatmap
        {{- end }}
        {{- range nomadService "heatmap-redis" }}
        HM_REDIS_URL=redis://:{{ $v.redis_password }}@{{ .Address }}:{{ .Port }}
        {{- end }}
        HM_AUTH_SECRET={{ .auth_secret }}
        HM_ENCRYPTION_KEYS={{ .encryption_keys }}
        {{- end }}
        EOT
      }

      # Sized from the benchmarks: one cluster node applies about 29k events/s end to end on 2 cores.
      resources {
        cpu        = 2000
        memory     = 1024
        memory_max = 2048
      }
    }
  }
}
