#!/usr/bin/python3
"""Writes benchmark input: N resources as N/5 sets of Deployment + Service + ConfigMap +
Secret + Ingress, with realistic sizes (a Deployment of ~70 lines with probes, resources,
env from the ConfigMap and Secret, a ConfigMap of ~0.6 KiB, ...).

Usage: gen_manifests.py N OUTDIR     (N a multiple of 5; files of at most 100 sets each)
Deterministic: the same N gives the same bytes.
"""
import base64
import os
import sys

SET = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i:05d}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: svc-{i:05d}
    app.kubernetes.io/part-of: bench
    team: team-{team}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-{i:05d}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-{i:05d}
        app.kubernetes.io/part-of: bench
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
    spec:
      serviceAccountName: default
      containers:
        - name: app
          image: registry.example.com/bench/svc-{i:05d}:1.{minor}.{patch}
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--metrics-port=9090", "--log-format=json"]
          ports:
            - name: http
              containerPort: 8080
            - name: metrics
              containerPort: 9090
          envFrom:
            - configMapRef:
                name: svc-{i:05d}-config
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: svc-{i:05d}-secret
                  key: db-password
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: GOMAXPROCS
              value: "2"
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: 500m
              memory: 256Mi
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
          volumeMounts:
            - name: config
              mountPath: /etc/svc
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: svc-{i:05d}-config
---
apiVersion: v1
kind: Service
metadata:
  name: svc-{i:05d}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: svc-{i:05d}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: svc-{i:05d}
  ports:
    - name: http
      port: 80
      targetPort: http
    - name: metrics
      port: 9090
      targetPort: metrics
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: svc-{i:05d}-config
  namespace: {ns}
data:
  LOG_LEVEL: info
  HTTP_TIMEOUT: 30s
  UPSTREAM_URL: http://svc-{up:05d}.{ns}.svc.cluster.local
  FEATURE_FLAGS: "search,recommendations,checkout-v2"
  MAX_CONNECTIONS: "100"
  app.properties: |
    server.port=8080
    server.shutdown=graceful
    management.endpoints.web.exposure.include=health,info,prometheus
    spring.datasource.url=jdbc:postgresql://postgres.data.svc.cluster.local:5432/svc{i:05d}
    spring.datasource.hikari.maximum-pool-size=10
    cache.ttl=300
    tracing.sample-rate=0.1
---
apiVersion: v1
kind: Secret
metadata:
  name: svc-{i:05d}-secret
  namespace: {ns}
type: Opaque
data:
  db-password: {pw}
  api-token: {tok}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: svc-{i:05d}
  namespace: {ns}
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 4m
spec:
  ingressClassName: nginx
  tls:
    - hosts:
        - svc-{i:05d}.bench.example.com
      secretName: svc-{i:05d}-tls
  rules:
    - host: svc-{i:05d}.bench.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: svc-{i:05d}
                port:
                  name: http
"""


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    n, out = int(sys.argv[1]), sys.argv[2]
    if n <= 0 or n % 5:
        print("gen_manifests: N must be a positive multiple of 5", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    sets = n // 5
    per_file = 100
    for f in range((sets + per_file - 1) // per_file):
        parts = []
        for i in range(f * per_file, min(sets, (f + 1) * per_file)):
            parts.append(SET.format(
                i=i, ns="bench", team=i % 7, replicas=1 + i % 3, minor=i % 20, patch=i % 9,
                up=(i * 31 + 7) % sets,
                pw=base64.b64encode(b"password-%08d" % i).decode(),
                tok=base64.b64encode(b"token-%012d-bench-%x" % (i * 7919, i)).decode()))
        with open(os.path.join(out, "set-%04d.yaml" % f), "w", encoding="utf-8") as fh:
            fh.write("---\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
