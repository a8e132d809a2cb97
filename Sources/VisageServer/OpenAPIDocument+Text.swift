/// The OpenAPI 3.1 document, kept in code so the binary needs no resource files (`/openapi.yaml`).
extension OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Visage API
  version: 1.0.0
  summary: Face processing jobs (swap, action units, analysis) and live sessions over HTTP and WebSocket.
  description: |
    The same jobs as the `visage` command line: options have the command line's names, results are the
    JSON `--json` prints. Files are uploaded first (POST /v1/files) and named by id in a job's inputs.
    Every output that alters a face carries a machine-readable synthetic-media label.
    Authentication: `Authorization: Bearer TOKEN` when the server was started with tokens (the live
    routes also take `?access_token=TOKEN`, as browsers cannot set headers on a WebSocket or an image).
security:
  - bearer: []
  - {}
paths:
  /health:
    get:
      summary: Status, version, machine, ONNX Runtime and providers (chosen and why), mode, models, queue, uptime
      responses:
        '200':
          description: The server is up.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Health'}
  /metrics:
    get:
      summary: Prometheus text format (jobs by kind and state, durations, stages, live fps and drops, queue, RSS)
      responses:
        '200':
          description: Metrics.
          content:
            text/plain: {}
  /openapi.yaml:
    get:
      summary: This document
      responses:
        '200':
          description: OpenAPI 3.1, YAML.
          content:
            application/yaml: {}
  /:
    get:
      summary: The web UI (swap, live, action units, jobs, system pages); served without a token, it asks for one
      responses:
        '200':
          description: HTML.
          content:
            text/html: {}
  /ui/{asset}:
    get:
      summary: A file of the web UI (HTML, CSS, JavaScript modules compiled into the binary)
      parameters:
        - {name: asset, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: The file.
        '404':
          description: No such file.
  /docs:
    get:
      summary: This document as a readable page
      responses:
        '200':
          description: HTML.
          content:
            text/html: {}
  /v1/files:
    post:
      summary: Upload an image or a video (raw bytes as the body); content-addressed by sha256
      description: |
        The declared length is checked against the kind's limit before anything is read (413). The body
        is streamed to disk, then the content is checked by decoding it (422 with the reason). The
        client's file name is metadata only.
      parameters:
        - {name: kind, in: query, schema: {type: string, enum: [image, video]}, description: 'Default: from Content-Type or the name.'}
        - {name: name, in: query, schema: {type: string}, description: The client's file name (metadata).}
      requestBody:
        required: true
        content:
          application/octet-stream: {schema: {type: string, format: binary}}
          image/*: {schema: {type: string, format: binary}}
          video/*: {schema: {type: string, format: binary}}
      responses:
        '201':
          description: Stored (or already stored).
          content:
            application/json:
              schema: {$ref: '#/components/schemas/File'}
        '400': {$ref: '#/components/responses/Error'}
        '408': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
  /v1/files/{id}:
    get:
      summary: An uploaded file's metadata
      parameters: [{$ref: '#/components/parameters/FileID'}]
      responses:
        '200':
          description: The file.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/File'}
        '404': {$ref: '#/components/responses/Error'}
  /v1/jobs:
    post:
      summary: Submit a job (swap, au, analyze, enhance); options have the command line's names
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/JobRequest'}
            example: {kind: swap, inputs: {source: FILE_ID, target: FILE_ID}, options: {many-faces: true}}
      responses:
        '201':
          description: Queued.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '400': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '429':
          description: The queue is full; try again after Retry-After seconds.
          headers:
            Retry-After: {schema: {type: integer}}
    get:
      summary: Jobs, newest first, paged, optionally of one state
      parameters:
        - {name: state, in: query, schema: {type: string, enum: [queued, running, succeeded, failed, cancelled]}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
        - {name: offset, in: query, schema: {type: integer, minimum: 0, default: 0}}
      responses:
        '200':
          description: A page.
          content:
            application/json:
              schema:
                type: object
                properties:
                  jobs: {type: array, items: {$ref: '#/components/schemas/Job'}}
                  total: {type: integer}
                  next_offset: {type: [integer, 'null']}
        '400': {$ref: '#/components/responses/Error'}
  /v1/jobs/{id}:
    get:
      summary: A job's state, progress, error text, timings, result and output files
      parameters: [{$ref: '#/components/parameters/JobID'}]
      responses:
        '200':
          description: The job.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '404': {$ref: '#/components/responses/Error'}
    delete:
      summary: Cancel a job (a queued one at once, a running one at its next frame); remove a finished one with ?remove=true
      parameters:
        - {$ref: '#/components/parameters/JobID'}
        - {name: remove, in: query, schema: {type: boolean}, description: 'A finished job: remove it and its results (its uploads stay until retention).'}
      responses:
        '202':
          description: Cancelled or cancelling.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '204':
          description: The finished job and its results were removed.
        '404': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
  /v1/jobs/{id}/events:
    get:
      summary: Server-sent events of the job (state, progress) until it ends
      parameters: [{$ref: '#/components/parameters/JobID'}]
      responses:
        '200':
          description: 'text/event-stream: `event: state` (a Job) and `event: progress` (stage, done, total, fps, elapsed, finished).'
          content:
            text/event-stream: {}
        '404': {$ref: '#/components/responses/Error'}
  /v1/jobs/{id}/results/{name}:
    get:
      summary: Download an output file (Range requests answered 206, so videos play while downloading)
      parameters:
        - {$ref: '#/components/parameters/JobID'}
        - {name: name, in: path, required: true, schema: {type: string, pattern: '^[a-z0-9-]{1,32}\.[a-z0-9]{1,8}$'}}
        - {name: Range, in: header, schema: {type: string}, example: bytes=0-1023}
      responses:
        '200': {description: The whole file.}
        '206': {description: The range asked for.}
        '404': {$ref: '#/components/responses/Error'}
        '410': {$ref: '#/components/responses/Error'}
        '416': {$ref: '#/components/responses/Error'}
  /v1/settings:
    get:
      summary: The performance mode (and what each mode means)
      responses:
        '200':
          description: Settings.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Settings'}
    put:
      summary: Change the performance mode; new jobs and live sessions (running ones restart in it) follow it
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Settings'}
      responses:
        '200':
          description: Settings now.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Settings'}
        '400': {$ref: '#/components/responses/Error'}
  /v1/models:
    get:
      summary: Every model Visage knows, its licence, and whether it is installed
      responses:
        '200':
          description: As `visage models list --json`.
          content:
            application/json: {}
  /v1/models/{id}/install:
    post:
      summary: Install a model (download or mirror, sha256-verified); some licences must be accepted
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                accept_license: {type: boolean}
      responses:
        '200': {description: Installed.}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
  /v1/live:
    get:
      summary: The live sessions running now
      responses:
        '200':
          description: Sessions.
          content:
            application/json: {}
  /v1/live/socket:
    get:
      summary: 'WebSocket: send JPEG frames, receive processed JPEG frames and JSON messages'
      description: |
        Query: the live options of `visage live` a client may set: swap-face (an uploaded file id),
        swapper, many-faces, mouth-mask, opacity, watermark, detector, mode, target-fps, adapt,
        sequential, max-frames, duration. Client → server: binary messages, one JPEG (or PNG) frame
        each; a text `{"type": "end"}` finishes. Server → client: binary messages (processed JPEG
        frames, labelled synthetic when swapped) and text JSON messages with a `type`: session (id,
        mjpeg path), started, stats (about once a second: fps, latency_ms, dropped, stage_ms, …),
        error (a frame that did not decode; the session goes on), mode (the server's performance mode
        changed: that run's result; the next frame starts a run in the new mode), ended (the last run's
        result).
      responses:
        '101': {description: Switching to the WebSocket protocol.}
        '400': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '429': {$ref: '#/components/responses/Error'}
  /v1/live/{id}/mjpeg:
    get:
      summary: A live session's output as MJPEG (for a browser or OBS's media source)
      parameters: [{$ref: '#/components/parameters/JobID'}]
      responses:
        '200':
          description: multipart/x-mixed-replace stream of JPEG frames.
        '404': {$ref: '#/components/responses/Error'}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  parameters:
    FileID: {name: id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{64}$'}}
    JobID: {name: id, in: path, required: true, schema: {type: string, format: uuid}}
  responses:
    Error:
      description: An error.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Error:
      type: object
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
            field: {type: string, description: The request field that is wrong.}
            models: {type: array, items: {type: string}, description: Models to install first.}
    File:
      type: object
      properties:
        id: {type: string, description: sha256 of the content}
        kind: {type: string, enum: [image, video]}
        format: {type: string}
        size: {type: integer}
        width: {type: integer}
        height: {type: integer}
        name: {type: string, description: The client's file name (metadata only)}
        created_at: {type: string, format: date-time}
    JobRequest:
      type: object
      required: [kind, inputs]
      properties:
        kind: {type: string, enum: [swap, au, analyze, enhance]}
        inputs:
          type: object
          description: 'File ids by option: swap {source, target}; au {input, landmarks-from?}; analyze {input}.'
          additionalProperties: {type: string}
        options:
          type: object
          description: 'Options by their command-line names (e.g. many-faces, mouth-mask, detect-every, landmarks). Files the job writes are placed by the server; ask for an optional one with true (au: plot; analyze: draw).'
    Job:
      type: object
      properties:
        id: {type: string, format: uuid}
        kind: {type: string}
        state: {type: string, enum: [queued, running, succeeded, failed, cancelled]}
        client: {type: string}
        created_at: {type: string, format: date-time}
        started_at: {type: [string, 'null'], format: date-time}
        finished_at: {type: [string, 'null'], format: date-time}
        timings: {type: object, properties: {queued_s: {type: number}, run_s: {type: [number, 'null']}}}
        attempts: {type: integer}
        position: {type: [integer, 'null'], description: Place in the serving order while queued.}
        progress: {type: [object, 'null']}
        error: {type: [string, 'null']}
        note: {type: [string, 'null']}
        inputs: {type: object}
        options: {type: object}
        result: {type: [object, 'null'], description: The job's result as `--json` prints it.}
        outputs:
          type: array
          items: {type: object, properties: {name: {type: string}, size: {type: integer}, url: {type: string}}}
        results_removed: {type: boolean}
    Settings:
      type: object
      required: [mode]
      properties:
        mode: {type: string, enum: [performance, balanced, quality, battery]}
        modes: {type: object, additionalProperties: {type: string}}
    Health:
      type: object
      properties:
        status: {type: string}
        version: {type: string}
        uptime_s: {type: number}
        mode: {type: string}
        queue: {type: object, properties: {queued: {type: integer}, running: {type: integer}, workers: {type: integer}, capacity: {type: integer}}}
        live_sessions: {type: integer}
        models_installed: {type: array, items: {type: string}}
        models_loaded: {type: integer}
        rss_mb: {type: number}
        system: {type: object, description: What `visage doctor --json` reports.}
"""#
}
