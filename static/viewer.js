// Viewer page scripts, loaded with the page's CSP nonce. Everything works without them
// except copying the link, the live refresh and the wait for a background render.
document.getElementById("copy-link")?.addEventListener("click", async (e) => {
  const button = e.currentTarget;
  await navigator.clipboard.writeText(button.dataset.url);
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = "Copy link"), 1500);
});
// A big Markdown version renders in the background: poll, then reload for a fresh grant.
const rendering = document.getElementById("rendering");
if (rendering) {
  const poll = setInterval(async () => {
    const response = await fetch(rendering.dataset.readyUrl, { credentials: "same-origin" });
    if (response.ok && (await response.json()).ready) {
      clearInterval(poll);
      window.location.reload();
    }
  }, 2000);
}
// Live refresh on the stable URL: a cheap poll (204 while unchanged); on a new version,
// swap the frame to a fresh grant without reloading the page, and say so.
const frame = document.getElementById("artifact-frame");
if (frame && frame.dataset.liveUrl) {
  let liveUrl = frame.dataset.liveUrl;
  const notice = document.getElementById("live-notice");
  setInterval(async () => {
    if (document.hidden) return;
    const response = await fetch(liveUrl, { credentials: "same-origin", cache: "no-store" });
    if (response.status !== 200) return;
    const update = await response.json();
    frame.src = update.frame_src;
    liveUrl = liveUrl.replace(/v=\d+/, `v=${update.version}`);
    document.getElementById("shown-version").textContent = `v${update.version}`;
    notice.textContent = `Updated to v${update.version}`;
    notice.hidden = false;
  }, 2500);
}
