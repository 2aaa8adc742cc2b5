# One Redis server (rate limits, caches, sign-in throttling) on a host volume "redis". A managed Redis
# works as well: stop this job and point HM_REDIS_URL at it (deploy/README.md).
job "heatmap-redis" {
  type = "service"

  group "redis" {
    count = 1

    volume "redis" {
      type   = "host"
      source = "redis"
    }

    network {
      port "redis" {
        to = 6379
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-redis"
      port     = "redis"

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7.4.2-alpine"
        args  = ["redis-server", "/secrets/redis.conf"]
        ports = ["redis"]
      }

      volume_mount {
        volume      = "redis"
        destination = "/data"
      }

      template {
        destination = "secrets/redis.conf"
        data        = <<-EOT
        dir /data
        appendonly yes
        {{- with nomadVar "nomad/jobs" }}
        requirepass {{ .redis_password }}
        {{- end }}
        EOT
      }

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
