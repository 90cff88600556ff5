# One image for the web and worker services; the command picks the role.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv/quartermaster
# The web image predicts with onnxruntime only; the worker image adds the training libraries
# (scikit-learn, skl2onnx) so "Retrain now" and the periodic retrain can run in it.
ARG REQUIREMENTS=requirements.txt
COPY requirements.txt requirements-train.txt ./
RUN pip install --no-cache-dir -r ${REQUIREMENTS}
COPY . .
RUN useradd --system --home /srv/quartermaster quartermaster && mkdir -p /data && chown quartermaster /data
USER quartermaster
ENV DATA_DIR=/data QM_ENV=production
EXPOSE 8000
CMD ["sh", "-c", "flask --app wsgi db upgrade && exec gunicorn --config gunicorn.conf.py wsgi:app"]
