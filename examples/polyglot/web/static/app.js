// Fills the jobs table from /api/jobs and refreshes it every few seconds.
async function refresh() {
  const response = await fetch("/api/jobs");
  const jobs = await response.json();
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren(...jobs.map((job) => {
    const row = document.createElement("tr");
    const cells = [job.id, job.name, job.scene, `${job.frame_start}-${job.frame_end}`, job.priority, job.status];
    for (const value of cells) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    row.lastChild.className = `status-${job.status}`;
    return row;
  }));
}
refresh();
setInterval(refresh, 5000);
