# Gateway processes (HM_ROLE=gateway): what users reach (SDK ingest, APIs, live WebSocket), behind a load
# balancer that finds them through the "heatmap-gateway" service. They host no actors and hold no shard:
# events go to the JetStream stream, asks and live topics to the runtime job's nodes over NATS.
job "heatmap-gateway" {
  type = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "20s"
    healthy_deadline = "5m"
    auto_revert      = true
  }

  group "gateway" {
    count = 2

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
      name     = "heatmap-gateway"
      port     = "http"
      tags     = ["metrics", "public"]

      check {
        type     = "http"
        path     = "/v1/health"
        interval = "10s"
        timeout  = "3s"
      }
    }

    # Nomad Autoscaler: the gateway is bound by CPU (JSON parsing, validation, publishing to JetStream).
    scaling {
      enabled = true
      min     = 2
      max     = 8

      policy {
        evaluation_interval = "30s"
        cooldown            = "2m"

        check "cpu" {
          source = "nomad-apm"
          query  = "avg_cpu-allocated"

          strategy "target-value" {
            target = 70
          }
        }
      }
    }

    task "gateway" {
      driver = "docker"

      config {
        image = "heatmap/platform:0.1.0"
        ports = ["http"]
      }

      # A gateway is a cluster node too: it drains its shards on SIGTERM like a runtime node.
      kill_signal  = "SIGTERM"
      kill_timeout = "45s"

      env {
        HM_HOST              = "0.0.0.0"
        HM_PORT              = "8080"
        HM_DATA_DIR          = "/alloc/data"
        HM_NODE_ID           = "gateway-${NOMAD_ALLOC_ID}"
        HM_THREADS           = "2"
        HM_SHARDS            = "64"
        HM_LEASE_MS          = "10000"
        HM_FLUSH_INTERVAL_MS = "1000"
        HM_NATS_STREAM       = "HM_EVENTS"
        HM_CLUSTER           = "hm"
        HM_ROLE              = "gateway"
        HM_NATS_REPLICAS     = "3"
        HM_TRUST_PROXY_HOPS  = "1"
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
        {{- with nomadVar "nomad/jobs" }}{{ $v := . }}
        HM_PUBLIC_URL={{ .public_url }}
        HM_NATS_URL={{ range $i, $s := nomadService "heatmap-nats" }}{{ if $i }},{{ end }}nats://{{ $s.Address }}:{{ $s.Port }}{{ end }}
        {{- range nomadService "heatmap-clickhouse" }}
        HM_CLICKHOUSE_URL=http://{{ .Address }}:{{ .Port }}
        {{- end }}
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

      # Sized from the benchmarks: a process accepts about 43k events/s of HTTP ingest on 2 cores (it hosts
      # no actors: the runtime job applies them).
      resources {
        cpu        = 2000
        memory     = 1024
        memory_max = 2048
      }
    }
  }
}
