// The live queue's beat, every 2 seconds. A worker's timer keeps its pace in a
// background tab, where the page's own timers are slowed to once a minute.
setInterval(function () { postMessage("tick"); }, 2000);
